import { afterEach, describe, expect, it } from "vitest";
import {
  createStrataClient,
  StrataApiError,
  StrataNetworkError,
  type SystemInfo,
} from "../src/index.js";
import { closedPort, sendJson, startServer, type TestServer } from "./server.js";

const SYSTEM: SystemInfo = {
  api_version: "0.1.0",
  ml: {
    service: "strata-ml",
    version: "0.1.0",
    device: "cpu",
    cuda_compiled: false,
    device_note: "",
    uptime_seconds: 42,
    model_kinds: ["mlp-classifier", "text-encoder"],
  },
};

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("getSystemInfo", () => {
  it("returns the system info the API sends", async () => {
    server = await startServer((req, res) => {
      if (req.method === "GET" && req.url === "/v1/system") sendJson(res, 200, SYSTEM);
      else sendJson(res, 404, { type: "about:blank", title: "Not Found", status: 404 });
    });
    // A trailing slash on the base URL must not produce `//v1/system`.
    const client = createStrataClient({ baseUrl: `${server.baseUrl}/` });

    await expect(client.getSystemInfo()).resolves.toEqual(SYSTEM);
    expect(server.requests.map((r) => r.url)).toEqual(["/v1/system"]);
  });

  it("turns a 503 problem+json into a StrataApiError with every problem field", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(503, { "content-type": "application/problem+json", "retry-after": "5" });
      res.end(
        JSON.stringify({
          type: "https://strata.invalid/problems/ml-unavailable",
          title: "ML service unavailable",
          status: 503,
          detail: "connection refused",
          instance: "/v1/system",
        }),
      );
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = await client.getSystemInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataApiError);
    const apiError = error as StrataApiError;
    expect(apiError.status).toBe(503);
    expect(apiError.type).toBe("https://strata.invalid/problems/ml-unavailable");
    expect(apiError.title).toBe("ML service unavailable");
    expect(apiError.detail).toBe("connection refused");
    expect(apiError.instance).toBe("/v1/system");
    expect(apiError.retryAfterSeconds).toBe(5);
    expect(apiError.message).toBe("ML service unavailable: connection refused");
  });

  it("derives a problem from the status line when a proxy answers with HTML", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(502, "Bad Gateway", { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = (await client.getSystemInfo().catch((e: unknown) => e)) as StrataApiError;
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error.problem).toEqual({ type: "about:blank", title: "Bad Gateway", status: 502 });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("keeps a plain-text error body as the detail", async () => {
    server = await startServer((_req, res) => {
      res.writeHead(500, "Internal Server Error", { "content-type": "text/plain" });
      res.end("database is locked\n");
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    const error = (await client.getSystemInfo().catch((e: unknown) => e)) as StrataApiError;
    expect(error.status).toBe(500);
    expect(error.title).toBe("Internal Server Error");
    expect(error.detail).toBe("database is locked");
  });

  it("reports a refused connection as a StrataNetworkError", async () => {
    const port = await closedPort();
    const client = createStrataClient({ baseUrl: `http://127.0.0.1:${port}` });

    const error = await client.getSystemInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StrataNetworkError);
    expect((error as Error).message).toMatch(/^Could not reach the strata API/);
  });

  it("re-throws an abort unchanged", async () => {
    server = await startServer(() => {
      // Never answer: only the abort can end the request.
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });
    const controller = new AbortController();

    const pending = client.getSystemInfo({ signal: controller.signal }).catch((e: unknown) => e);
    controller.abort();
    const error = await pending;
    expect(error).not.toBeInstanceOf(StrataNetworkError);
    expect((error as Error).name).toBe("AbortError");
  });
});

describe("bearer token", () => {
  async function authorizationHeaders(configure: (client: ReturnType<typeof createStrataClient>) => Promise<void>) {
    server = await startServer((_req, res) => sendJson(res, 200, SYSTEM));
    const client = createStrataClient({ baseUrl: server.baseUrl });
    await configure(client);
    return server.requests.map((r) => r.headers.authorization);
  }

  it("sends no Authorization header without a token", async () => {
    expect(await authorizationHeaders((c) => c.getSystemInfo().then(() => {}))).toEqual([undefined]);
  });

  it("sends a fixed token, a token from an async source, and follows setToken", async () => {
    const headers = await authorizationHeaders(async (client) => {
      client.setToken("fixed");
      await client.getSystemInfo();
      let current = "first";
      client.setToken(async () => current);
      await client.getSystemInfo();
      current = "refreshed";
      await client.getSystemInfo();
      client.setToken(undefined);
      await client.getSystemInfo();
    });
    expect(headers).toEqual(["Bearer fixed", "Bearer first", "Bearer refreshed", undefined]);
  });

  it("takes the token from the options", async () => {
    server = await startServer((_req, res) => sendJson(res, 200, SYSTEM));
    const client = createStrataClient({ baseUrl: server.baseUrl, token: () => "from-options" });
    await client.getSystemInfo();
    expect(server.requests[0]?.headers.authorization).toBe("Bearer from-options");
  });
});

describe("probes", () => {
  it("reads the plain-text bodies of /healthz and /readyz", async () => {
    server = await startServer((req, res) => {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok");
      } else {
        res.writeHead(503, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503 }));
      }
    });
    const client = createStrataClient({ baseUrl: server.baseUrl });

    await expect(client.healthz()).resolves.toBe("ok");
    const error = (await client.readyz().catch((e: unknown) => e)) as StrataApiError;
    expect(error).toBeInstanceOf(StrataApiError);
    expect(error.status).toBe(503);
    expect(error.title).toBe("Service Unavailable");
  });
});
