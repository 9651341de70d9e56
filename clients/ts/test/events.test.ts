import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import {
  createStrataClient,
  isRetryableWatchError,
  StrataApiError,
  StrataNetworkError,
  StreamInterruptedError,
  type JobState,
  type TrainingEvent,
} from "../src/index.js";
import { closedPort, sendJson, startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function event(sequence: number, state: JobState, step = 0): TrainingEvent {
  return {
    sequence,
    kind: step > 0 ? "progress" : "state",
    job: {
      id: "job-1",
      model_name: "digits",
      kind: "mlp-classifier",
      dataset_id: "ds-1",
      hyperparameters: {},
      parameters: {},
      state,
      ...(step > 0
        ? {
            progress: {
              epoch: 1,
              total_epochs: 2,
              step,
              total_steps: 10,
              train_loss: 1 / step,
              examples_per_second: 100,
              eta_seconds: 10 - step,
            },
          }
        : {}),
    },
  };
}

/** Writes one SSE block the way axum does: id, event, data, blank line. */
function writeEvent(res: ServerResponse, e: TrainingEvent) {
  res.write(`id: ${e.sequence}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
}

function openStream(res: ServerResponse) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  // A keep-alive comment first, as the API sends every 15 s; the parser must skip it.
  res.write(": keep-alive\n\n");
}

const ALL = [event(1, "queued"), event(2, "running"), event(3, "running", 4), event(4, "running", 8), event(5, "succeeded")];

function lastEventId(req: IncomingMessage): number {
  const header = req.headers["last-event-id"];
  return typeof header === "string" ? Number(header) : 0;
}

async function collect(iterable: AsyncIterable<TrainingEvent>): Promise<number[]> {
  const seen: number[] = [];
  for await (const e of iterable) seen.push(e.sequence);
  return seen;
}

describe("watchTrainingJob", () => {
  it("yields every event with the token and returns once the job has ended", async () => {
    server = await startServer((req, res) => {
      openStream(res);
      for (const e of ALL) writeEvent(res, e);
      // Never end the response: the client must stop on the terminal state by itself.
    });
    const client = createStrataClient({ baseUrl: server.baseUrl, token: "t0k" });

    const events: TrainingEvent[] = [];
    for await (const e of client.watchTrainingJob("job-1")) events.push(e);

    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(events[3]?.job?.progress?.eta_seconds).toBe(2);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.url).toBe("/v1/training-jobs/job-1/events");
    expect(server.requests[0]?.headers.authorization).toBe("Bearer t0k");
    expect(server.requests[0]?.headers["last-event-id"]).toBeUndefined();
  });

  it("reconnects after a dropped connection with Last-Event-ID and loses or repeats nothing", async () => {
    let connection = 0;
    server = await startServer((req, res) => {
      connection += 1;
      openStream(res);
      const after = lastEventId(req);
      const rest = ALL.filter((e) => e.sequence > after);
      if (connection === 1) {
        // Send two events and half of a third, then drop the connection.
        for (const e of rest.slice(0, 2)) writeEvent(res, e);
        res.write(`id: 3\nevent: progress\ndata: {"sequ`);
        setTimeout(() => res.destroy(), 20);
      } else {
        for (const e of rest) writeEvent(res, e);
      }
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const reconnects: { attempt: number; delay: number }[] = [];

    const seen = await collect(
      client.watchTrainingJob("job-1", {
        retryDelayMs: 10,
        onReconnect: (_reason, attempt, delay) => reconnects.push({ attempt, delay }),
      }),
    );

    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(reconnects).toEqual([{ attempt: 1, delay: 10 }]);
    expect(server.requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "2"]);
  });

  it("treats an error event from the API as an interruption and resumes", async () => {
    let connection = 0;
    server = await startServer((req, res) => {
      connection += 1;
      openStream(res);
      const rest = ALL.filter((e) => e.sequence > lastEventId(req));
      if (connection === 1) {
        writeEvent(res, rest[0] as TrainingEvent);
        res.end("event: error\ndata: ML service restarting\n\n");
      } else {
        for (const e of rest) writeEvent(res, e);
      }
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const reasons: unknown[] = [];

    const seen = await collect(client.watchTrainingJob("job-1", { retryDelayMs: 1, onReconnect: (r) => reasons.push(r) }));

    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(StreamInterruptedError);
    expect((reasons[0] as Error).message).toBe("ML service restarting");
  });

  it("ends quietly when resumed after the last event of a finished job", async () => {
    server = await startServer((req, res) => {
      if (req.url === "/v1/training-jobs/job-1") {
        sendJson(res, 200, event(5, "succeeded").job);
        return;
      }
      openStream(res);
      res.end();
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    expect(await collect(client.watchTrainingJob("job-1", { lastEventId: 5 }))).toEqual([]);
    expect(server.requests.map((r) => r.url)).toEqual(["/v1/training-jobs/job-1/events", "/v1/training-jobs/job-1"]);
    expect(server.requests[0]?.headers["last-event-id"]).toBe("5");
  });

  it("gives up at once on a 404 problem: a missing job does not come back", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "https://strata.dev/problems/not-found", title: "Not found", status: 404, detail: "job nope" }));
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = await collect(client.watchTrainingJob("nope", { retryDelayMs: 1 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    expect((error as StrataApiError).detail).toBe("job nope");
    expect(server.requests).toHaveLength(1);
  });

  it("retries an unreachable API maxRetries times, then throws the network error", async () => {
    const port = await closedPort();
    const client = createStrataClient({ baseUrl: `http://127.0.0.1:${port}` });
    const attempts: number[] = [];

    const error = await collect(
      client.watchTrainingJob("job-1", { retryDelayMs: 1, maxRetries: 2, onReconnect: (_r, attempt) => attempts.push(attempt) }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StrataNetworkError);
    expect(attempts).toEqual([1, 2]);
  });

  it("closes the connection when the consumer stops early", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    server = await startServer((req, res) => {
      openStream(res);
      writeEvent(res, ALL[0] as TrainingEvent);
      req.socket.once("close", () => closed());
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    for await (const e of client.watchTrainingJob("job-1")) {
      expect(e.sequence).toBe(1);
      break;
    }
    await expect(serverSawClose).resolves.toBeUndefined();
  });

  it("stops waiting when aborted", async () => {
    server = await startServer((_req, res) => openStream(res));
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const controller = new AbortController();

    const pending = collect(client.watchTrainingJob("job-1", { signal: controller.signal })).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 50);
    const error = await pending;
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("isRetryableWatchError", () => {
  it.each([
    [new StrataNetworkError("down"), true],
    [new StreamInterruptedError("cut"), true],
    [new TypeError("terminated"), true],
    [new StrataApiError({ type: "about:blank", title: "Bad Gateway", status: 502 }), true],
    [new StrataApiError({ type: "about:blank", title: "Service Unavailable", status: 503 }), true],
    [new StrataApiError({ type: "about:blank", title: "Too Many Requests", status: 429 }), true],
    [new StrataApiError({ type: "about:blank", title: "Unauthorized", status: 401 }), false],
    [new StrataApiError({ type: "about:blank", title: "Forbidden", status: 403 }), false],
    [new RangeError("bug"), false],
  ])("%s → %s", (error, retryable) => {
    expect(isRetryableWatchError(error)).toBe(retryable);
  });
});
