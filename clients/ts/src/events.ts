import { createParser } from "eventsource-parser";
import type { Client } from "openapi-fetch";
import { StrataApiError, StrataNetworkError } from "./errors.js";
import type { JobState, paths, TrainingEvent } from "./generated/schema.js";

/** States after which a job never changes again; its event stream ends with the first of them. */
export const TERMINAL_JOB_STATES: readonly JobState[] = ["succeeded", "failed", "cancelled"];

export function isTerminalJobState(state: JobState | null | undefined): boolean {
  return state !== null && state !== undefined && TERMINAL_JOB_STATES.includes(state);
}

export interface WatchOptions {
  signal?: AbortSignal | undefined;
  /** Resume after this event (the `sequence` of the last one seen); absent replays from the start. */
  lastEventId?: number | undefined;
  /** Failed reconnects in a row before giving up with the last error (default 5). */
  maxRetries?: number | undefined;
  /** First reconnect delay in ms, doubled per failed attempt up to 10 s (default 1000, or the server's `retry:`). */
  retryDelayMs?: number | undefined;
  /** Called each time the stream is (re)connected. */
  onOpen?: (() => void) | undefined;
  /** Called before each reconnect: why the stream stopped, the attempt number and the delay. */
  onReconnect?: ((reason: unknown, attempt: number, delayMs: number) => void) | undefined;
}

const MAX_RETRY_DELAY_MS = 10_000;

/** The API ended the stream without the job ending (a restart, a relayed gRPC error). */
export class StreamInterruptedError extends Error {
  override readonly name = "StreamInterruptedError";
}

/**
 * Whether a failure may go away by itself: no answer at all, a gateway or ML-service outage, a
 * rate limit, or a stream cut short. Authentication, permission and not-found errors never do.
 */
export function isRetryableWatchError(error: unknown): boolean {
  if (error instanceof StrataNetworkError || error instanceof StreamInterruptedError) return true;
  if (error instanceof StrataApiError) return [429, 502, 503, 504].includes(error.status);
  // fetch reports a connection dropped mid-body as a TypeError ("terminated", "network error").
  return error instanceof TypeError;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function parseEvent(data: string): TrainingEvent | undefined {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === "object" && value !== null && typeof (value as TrainingEvent).sequence === "number") {
      return value as TrainingEvent;
    }
  } catch {
    // Not a TrainingEvent; the caller decides what an unreadable event means.
  }
  return undefined;
}

/**
 * Yields a job's events as the API streams them (`text/event-stream`, read with fetch so the
 * bearer token travels in a header, which `EventSource` cannot send) and returns once an event
 * shows the job in a terminal state. A dropped connection, a restarted API or an `error` event is
 * followed by a reconnect with `Last-Event-ID`, so events are neither lost nor repeated.
 */
export async function* watchTrainingJob(
  raw: Client<paths>,
  id: string,
  options: WatchOptions = {},
): AsyncGenerator<TrainingEvent, void, undefined> {
  const { signal, maxRetries = 5, onOpen, onReconnect } = options;
  let lastEventId = options.lastEventId;
  let retryDelayMs = options.retryDelayMs ?? 1_000;
  let failures = 0;

  for (;;) {
    let reader: ReadableStreamDefaultReader<string> | undefined;
    try {
      const { data: body, error, response } = await raw
        .GET("/v1/training-jobs/{id}/events", {
          params: { path: { id }, header: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId } },
          parseAs: "stream",
          signal,
        })
        .catch((cause: unknown) => {
          if (cause instanceof Error && cause.name === "AbortError") throw cause;
          const reason = cause instanceof Error ? cause.message : String(cause);
          throw new StrataNetworkError(`Could not reach the strata API: ${reason}`, { cause });
        });
      if (!response.ok || error !== undefined) throw StrataApiError.fromResponse(response, error);
      if (!body) throw new StreamInterruptedError("the event stream had no body");
      onOpen?.();

      const pending: TrainingEvent[] = [];
      let streamError: string | undefined;
      const parser = createParser({
        onEvent(message) {
          if (message.event === "error") {
            streamError = message.data || "the API reported an error in the event stream";
            return;
          }
          const event = parseEvent(message.data);
          if (event) pending.push(event);
        },
        onRetry(ms) {
          retryDelayMs = ms;
        },
      });
      reader = body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        while (pending.length > 0) {
          const event = pending.shift() as TrainingEvent;
          lastEventId = event.sequence;
          failures = 0;
          yield event;
          if (isTerminalJobState(event.job?.state)) return;
        }
        if (streamError !== undefined) throw new StreamInterruptedError(streamError);
      }
      // A stream resumed after the job's last event ends at once; only the job itself can say
      // whether that was the end or an interruption.
      const { data: job } = await raw.GET("/v1/training-jobs/{id}", { params: { path: { id } }, signal });
      if (isTerminalJobState(job?.state)) return;
      throw new StreamInterruptedError("the event stream ended before the job did");
    } catch (error) {
      if (signal?.aborted || (error instanceof Error && error.name === "AbortError")) throw error;
      failures += 1;
      if (!isRetryableWatchError(error) || failures > maxRetries) throw error;
      const delay = Math.min(retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
      onReconnect?.(error, failures, delay);
      await sleep(delay, signal);
    } finally {
      // A consumer that stops early (break, return, abort) must not leave the connection open.
      reader?.cancel().catch(() => {});
    }
  }
}
