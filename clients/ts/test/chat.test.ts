import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  createStrataClient,
  sseData,
  StrataApiError,
  StrataNetworkError,
  StreamInterruptedError,
  type ChatCompletion,
} from "../src/index.js";
import { closedPort, sendJson, startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const HEAD = `"id":"chatcmpl-7f3a","object":"chat.completion.chunk","created":1765090000,"model":"smollm2@v1"`;
const delta = (content: string) =>
  `data: {${HEAD},"choices":[{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(content)}},"finish_reason":null,"logprobs":null}]}\n\n`;

/**
 * A stream as strata-api sends it (axum's Sse: `data:` lines, a blank line after each event): the
 * opening chunk with the role and empty content, the deltas, a keep-alive comment, the chunk with
 * the finish reason, the usage chunk with no choices, `[DONE]`. A delta holds multi-byte UTF-8.
 */
const RECORDED = [
  delta(""),
  delta("The capital"),
  delta(" of France"),
  ": keep-alive\n\n",
  delta(" is Paris — très"),
  delta(" belle 🗼."),
  `data: {${HEAD},"choices":[{"index":0,"delta":{},"finish_reason":"stop","logprobs":null}]}\n\n`,
  `data: {${HEAD},"choices":[],"usage":{"completion_tokens":9,"prompt_tokens":31,"total_tokens":40}}\n\n`,
  "data: [DONE]\n\n",
].join("");
const ANSWER = "The capital of France is Paris — très belle 🗼.";

/** Splits `bytes` at the given sizes, cycling through them: every boundary lands somewhere awkward. */
function split(bytes: Buffer, sizes: number[]): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i += 1) {
    const size = sizes[i % sizes.length] as number;
    parts.push(bytes.subarray(at, at + size));
    at += size;
  }
  return parts;
}

const tick = () => new Promise((r) => setTimeout(r, 1));

/** Replays `parts`, one write per part with a pause between, so each reaches the client on its own. */
async function replay(res: ServerResponse, parts: Buffer[], end = true) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const part of parts) {
    res.write(part);
    await tick();
  }
  if (end) res.end();
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const text of iterable) out.push(text);
  return out;
}

const REQUEST = {
  model: "smollm2",
  messages: [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: "What is the capital of France?" },
  ],
  temperature: 0,
  max_tokens: 64,
};

describe("chat.stream", () => {
  it.each([
    ["every byte", [1]],
    ["odd sizes", [3, 7, 2, 11, 5]],
    ["mid-line", [17, 64, 29]],
    ["whole events", [100_000]],
  ])("yields the deltas and the result of a recorded stream split at %s", async (_name, sizes) => {
    const bodies: unknown[] = [];
    server = await startServer((req, res) => {
      void readBody(req).then((body) => {
        bodies.push(body);
        return replay(res, split(Buffer.from(RECORDED, "utf8"), sizes));
      });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl, token: "t0k" });

    const stream = client.chat.stream(REQUEST);
    const deltas = await collect(stream);
    const result = await stream.result;

    expect(deltas).toEqual(["The capital", " of France", " is Paris — très", " belle 🗼."]);
    expect(result).toEqual({
      id: "chatcmpl-7f3a",
      model: "smollm2@v1",
      content: ANSWER,
      finishReason: "stop",
      usage: { prompt_tokens: 31, completion_tokens: 9, total_tokens: 40 },
    });
    expect(server.requests[0]?.method).toBe("POST");
    expect(server.requests[0]?.url).toBe("/v1/chat/completions");
    expect(server.requests[0]?.headers.authorization).toBe("Bearer t0k");
    expect(bodies[0]).toEqual({ ...REQUEST, stream: true, stream_options: { include_usage: true } });
  });

  it("drains the stream when only the result is read", async () => {
    server = await startServer((_req, res) => void replay(res, split(Buffer.from(RECORDED), [13])));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const result = await client.chat.stream(REQUEST).result;
    expect(result.content).toBe(ANSWER);
    expect(result.usage?.completion_tokens).toBe(9);
  });

  it("reports finish_reason length", async () => {
    const recorded = RECORDED.replace('"finish_reason":"stop"', '"finish_reason":"length"');
    server = await startServer((_req, res) => void replay(res, [Buffer.from(recorded)]));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    expect((await client.chat.stream(REQUEST).result).finishReason).toBe("length");
  });

  it("turns a problem+json answer before the stream into a StrataApiError", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/problem+json" });
      res.end(
        JSON.stringify({
          type: "https://strata.dev/problems/bad-request",
          title: "Bad request",
          status: 400,
          detail: "model minilm is a text-encoder, not a text-generator",
        }),
      );
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const stream = client.chat.stream({ ...REQUEST, model: "minilm" });
    const error = await collect(stream).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect((error as StrataApiError).status).toBe(400);
    expect((error as StrataApiError).detail).toBe("model minilm is a text-encoder, not a text-generator");
    await expect(stream.result).rejects.toBe(error);
  });

  it("yields what came before an error sent in the stream, then throws it", async () => {
    const failing = [
      delta(""),
      delta("The capital"),
      `data: {"error":{"message":"the ML service stopped generating","type":"ML service error","code":502}}\n\n`,
    ].join("");
    server = await startServer((_req, res) => void replay(res, split(Buffer.from(failing), [5, 9])));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const seen: string[] = [];
    const error = await (async () => {
      for await (const text of client.chat.stream(REQUEST)) seen.push(text);
    })().catch((e: unknown) => e);

    expect(seen).toEqual(["The capital"]);
    expect(error).toBeInstanceOf(StrataApiError);
    expect((error as StrataApiError).status).toBe(502);
    expect((error as StrataApiError).title).toBe("ML service error");
    expect((error as StrataApiError).detail).toBe("the ML service stopped generating");
  });

  it("throws StreamInterruptedError when the stream ends without [DONE]", async () => {
    const cut = RECORDED.slice(0, RECORDED.indexOf("data: [DONE]"));
    server = await startServer((_req, res) => void replay(res, [Buffer.from(cut)]));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(collect(client.chat.stream(REQUEST))).rejects.toBeInstanceOf(StreamInterruptedError);
  });

  it("throws StrataNetworkError when nothing listens", async () => {
    const client = createStrataClient({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
    await expect(client.chat.stream(REQUEST).result).rejects.toBeInstanceOf(StrataNetworkError);
  });

  it("stops mid-answer when aborted, keeps what arrived and closes the connection", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    server = await startServer((req, res) => {
      req.socket.once("close", () => closed());
      // A long answer that never ends by itself.
      void replay(res, [Buffer.from(delta("") + delta("Once upon a time")), Buffer.from(delta(", a dragon"))], false);
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const controller = new AbortController();

    const stream = client.chat.stream(REQUEST, { signal: controller.signal });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const text of stream) {
        seen.push(text);
        if (seen.join("").includes("dragon")) controller.abort();
      }
    })().catch((e: unknown) => e);

    expect(seen.join("")).toBe("Once upon a time, a dragon");
    expect((error as Error).name).toBe("AbortError");
    await expect(stream.result).rejects.toHaveProperty("name", "AbortError");
    await expect(serverSawClose).resolves.toBeUndefined();
  });

  it("closes the connection when the consumer stops early", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    server = await startServer((req, res) => {
      req.socket.once("close", () => closed());
      void replay(res, [Buffer.from(delta("") + delta("Once"))], false);
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const stream = client.chat.stream(REQUEST);
    for await (const text of stream) {
      expect(text).toBe("Once");
      break;
    }
    await expect(serverSawClose).resolves.toBeUndefined();
    await expect(stream.result).rejects.toBeInstanceOf(StreamInterruptedError);
  });

  it("can be read only once", async () => {
    server = await startServer((_req, res) => void replay(res, [Buffer.from(RECORDED)]));
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const stream = client.chat.stream(REQUEST);
    await collect(stream);
    await expect(collect(stream)).rejects.toThrow(/only once/);
  });
});

describe("chat.complete", () => {
  it("sends stream: false and returns the whole answer", async () => {
    const answer: ChatCompletion = {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1765090000,
      model: "smollm2@v1",
      choices: [{ index: 0, message: { role: "assistant", content: "Paris." }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 31, completion_tokens: 3, total_tokens: 34 },
    };
    const bodies: unknown[] = [];
    server = await startServer((req, res) => {
      void readBody(req).then((body) => {
        bodies.push(body);
        sendJson(res, 200, answer);
      });
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.chat.complete(REQUEST)).resolves.toEqual(answer);
    expect(bodies[0]).toEqual({ ...REQUEST, stream: false });
  });

  it("turns a 404 problem into a StrataApiError", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Not Found", status: 404, detail: "no model nope" }));
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = await client.chat.complete({ ...REQUEST, model: "nope" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect((error as StrataApiError).detail).toBe("no model nope");
  });
});

describe("sseData", () => {
  it("joins events split anywhere, skips comments and keeps a last event without its blank line", async () => {
    const text = ": hello\n\ndata: one\n\ndata: two\r\ndata: lines\r\n\r\ndata: last";
    const bytes = Buffer.from(text);
    const body = new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(controller) {
        for (const part of split(bytes, [1, 4, 2])) controller.enqueue(new Uint8Array(part));
        controller.close();
      },
    });
    const out: string[] = [];
    for await (const data of sseData(body)) out.push(data);
    expect(out).toEqual(["one", "two\nlines", "last"]);
  });
});
