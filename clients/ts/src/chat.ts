import { createParser } from "eventsource-parser";
import type { Client } from "openapi-fetch";
import { StrataApiError, StrataNetworkError } from "./errors.js";
import { StreamInterruptedError } from "./events.js";
import type { ChatCompletion, ChatCompletionRequest, paths, Usage } from "./generated/schema.js";

/** A chat request as `chat.stream` and `chat.complete` take it: the client decides `stream` itself. */
export type ChatRequest = Omit<ChatCompletionRequest, "stream" | "stream_options">;

/** One `chat.completion.chunk` of a streamed answer (the `data` of one event). */
export interface ChatCompletionChunk {
  id: string;
  /** Always `chat.completion.chunk`. */
  object: string;
  created: number;
  /** `name@version` that answers. */
  model: string;
  /** One choice; empty in the last chunk, which carries `usage` instead. */
  choices: {
    index: number;
    delta: { role?: string; content?: string };
    /** `stop` or `length` in the chunk that ends the answer, else null. */
    finish_reason: string | null;
  }[];
  usage?: Usage | null;
}

/** What a streamed answer came to, once it has ended. */
export interface ChatResult {
  id: string;
  /** `name@version` that answered. */
  model: string;
  /** The whole answer: every delta joined. */
  content: string;
  /** `stop` (the model ended, or a stop string appeared) or `length` (max_tokens reached). */
  finishReason: string;
  /** Token counts (the client always asks for them). */
  usage: Usage | undefined;
}

/**
 * A streamed answer: iterate it (once) for the text deltas as they are generated; `result`
 * resolves when the answer has ended, and reading it without iterating drains the stream.
 * An abort, an error status or an error sent in the stream rejects both.
 */
export interface ChatStream extends AsyncIterable<string> {
  readonly result: Promise<ChatResult>;
}

/** Options of a chat call. */
export interface ChatCallOptions {
  signal?: AbortSignal | undefined;
}

export interface ChatApi {
  /**
   * `POST /v1/chat/completions` with `stream: true` (and usage): the answer's text as it is
   * generated. Errors before the first token reject as `StrataApiError` (problem+json); an error
   * the API sends in the stream (`{"error": ...}`) rejects as `StrataApiError` too.
   */
  stream(request: ChatRequest, init?: ChatCallOptions): ChatStream;
  /** `POST /v1/chat/completions` without streaming: the whole answer at once. */
  complete(request: ChatRequest, init?: ChatCallOptions): Promise<ChatCompletion>;
}

/** `{"error": {...}}` as the API sends it when generation fails after the stream started. */
interface StreamError {
  error: { message?: string | null; type?: string | null; code?: number | null };
}

function isStreamError(value: unknown): value is StreamError {
  return typeof value === "object" && value !== null && "error" in value && typeof value.error === "object" && value.error !== null;
}

function streamErrorToApiError(value: StreamError): StrataApiError {
  const { message, type, code } = value.error;
  const status = typeof code === "number" && Number.isInteger(code) ? code : 502;
  return new StrataApiError({
    type: "about:blank",
    title: type || "Generation failed",
    status,
    ...(message ? { detail: message } : {}),
  });
}

function toNetworkError(cause: unknown): never {
  if (cause instanceof Error && cause.name === "AbortError") throw cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  throw new StrataNetworkError(`Could not reach the strata API: ${reason}`, { cause });
}

/**
 * The `data` of each Server-Sent Event in `body`, in order, however the bytes are split across
 * reads (eventsource-parser joins lines; TextDecoderStream joins split UTF-8 characters).
 * Comments (the API's keep-alives) are skipped. The reader is released however iteration ends.
 */
export async function* sseData(body: ReadableStream<BufferSource>): AsyncGenerator<string, void, undefined> {
  const pending: string[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message.data) });
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        // A last event without its blank line still counts, as in EventSource.
        parser.feed("\n\n");
        yield* pending.splice(0);
        return;
      }
      parser.feed(value);
      while (pending.length > 0) yield pending.shift() as string;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The deltas of a streamed chat answer; returns the result after `[DONE]`. */
async function* chatDeltas(
  raw: Client<paths>,
  request: ChatRequest,
  signal: AbortSignal | undefined,
): AsyncGenerator<string, ChatResult, undefined> {
  const { data: body, error, response } = await raw
    .POST("/v1/chat/completions", {
      body: { ...request, stream: true, stream_options: { include_usage: true } },
      parseAs: "stream",
      signal,
    })
    .catch(toNetworkError);
  if (!response.ok || error !== undefined) throw StrataApiError.fromResponse(response, error);
  if (!body) throw new StreamInterruptedError("the answer had no body");

  let id = "";
  let model = "";
  let content = "";
  let finishReason: string | undefined;
  let usage: Usage | undefined;
  for await (const data of sseData(body)) {
    if (data === "[DONE]") {
      if (finishReason === undefined) throw new StreamInterruptedError("the answer ended without a finish reason");
      return { id, model, content, finishReason, usage };
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      throw new StreamInterruptedError(`the API sent an unreadable chunk: ${data.slice(0, 200)}`);
    }
    if (isStreamError(value)) throw streamErrorToApiError(value);
    const chunk = value as ChatCompletionChunk;
    id ||= chunk.id ?? "";
    model ||= chunk.model ?? "";
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if (choice.finish_reason) finishReason = choice.finish_reason;
      const text = choice.delta?.content;
      if (text) {
        content += text;
        yield text;
      }
    }
  }
  if (signal?.aborted) throw signal.reason;
  throw new StreamInterruptedError("the answer ended before [DONE]");
}

/** Wraps the generator so it can be iterated once and its return value read as `result`. */
function chatStream(generator: AsyncGenerator<string, ChatResult, undefined>): ChatStream {
  let resolve!: (result: ChatResult) => void;
  let reject!: (error: unknown) => void;
  const result = new Promise<ChatResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody has to read `result`; its rejection must not count as unhandled.
  result.catch(() => {});
  let started = false;

  async function* iterate(): AsyncGenerator<string, void, undefined> {
    if (started) throw new Error("a chat stream can be read only once");
    started = true;
    try {
      for (;;) {
        const next = await generator.next();
        if (next.done) {
          resolve(next.value);
          return;
        }
        yield next.value;
      }
    } catch (error) {
      reject(error);
      throw error;
    } finally {
      // A consumer that stops early (break, return) closes the connection; `result` then says so.
      await generator.return(undefined as never).catch(() => undefined);
      reject(new StreamInterruptedError("the answer was not read to its end"));
    }
  }

  return {
    [Symbol.asyncIterator]: iterate,
    get result() {
      if (!started) {
        void (async () => {
          try {
            for await (const _ of iterate()) {
              // Draining: the deltas are in the result's content.
            }
          } catch {
            // Already passed on to `result`.
          }
        })();
      }
      return result;
    },
  };
}

export function chatApi(raw: Client<paths>): ChatApi {
  return {
    stream: (request, init = {}) => chatStream(chatDeltas(raw, request, init.signal)),
    complete: async (request, init = {}) => {
      const { data, error, response } = await raw
        .POST("/v1/chat/completions", { body: { ...request, stream: false }, signal: init.signal })
        .catch(toNetworkError);
      if (!response.ok || error !== undefined) throw StrataApiError.fromResponse(response, error);
      return data as ChatCompletion;
    },
  };
}
