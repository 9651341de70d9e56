import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { apiBaseUrl, proxyToApi, upstreamUrl } from "../src/lib/proxy";

interface Upstream {
  base: string;
  seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  close(): Promise<void>;
}

async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

describe("apiBaseUrl", () => {
  it("reads STRATA_API_URL at call time and trims trailing slashes", () => {
    expect(apiBaseUrl({ STRATA_API_URL: "http://10.0.0.5:9000/" })).toBe("http://10.0.0.5:9000");
    expect(apiBaseUrl({})).toBe("http://127.0.0.1:8080");
    expect(apiBaseUrl({ STRATA_API_URL: "  " })).toBe("http://127.0.0.1:8080");
  });
});

describe("upstreamUrl", () => {
  it("strips the /api prefix and keeps the query", () => {
    expect(upstreamUrl("http://web.test/api/v1/system?verbose=1", "http://api:8080")).toBe(
      "http://api:8080/v1/system?verbose=1",
    );
    expect(upstreamUrl("http://web.test/api/healthz", "http://api:8080")).toBe("http://api:8080/healthz");
  });
});

describe("proxyToApi", () => {
  it("forwards method, path, headers and body, and returns the upstream answer unchanged", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(201, "Created", { "content-type": "application/json", "x-request-id": "abc" });
      res.end(JSON.stringify({ id: 7 }));
    });
    const request = new Request("http://web.test/api/v1/datasets?dry_run=1", {
      method: "POST",
      headers: { authorization: "Bearer t0k", "content-type": "application/json", connection: "keep-alive" },
      body: JSON.stringify({ name: "digits" }),
    });

    const response = await proxyToApi(request, { base: upstream.base });

    expect(response.status).toBe(201);
    expect(response.headers.get("x-request-id")).toBe("abc");
    await expect(response.json()).resolves.toEqual({ id: 7 });
    const [seen] = upstream.seen;
    expect(seen?.method).toBe("POST");
    expect(seen?.url).toBe("/v1/datasets?dry_run=1");
    expect(seen?.headers.authorization).toBe("Bearer t0k");
    expect(seen?.headers.host).toBe(new URL(upstream.base).host);
    expect(seen?.body).toBe('{"name":"digits"}');
  });

  it("forwards the browser's traceparent and starts a trace for callers without a valid one", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const browser = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const send = (headers: Record<string, string>) =>
      proxyToApi(new Request("http://web.test/api/v1/system", { headers }), { base: upstream?.base ?? "" });

    await send({ traceparent: browser, tracestate: "vendor=1" });
    await send({});
    await send({ traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01", tracestate: "vendor=1" });

    const [kept, started, replaced] = upstream.seen.map((s) => s.headers);
    expect(kept?.traceparent).toBe(browser);
    expect(kept?.tracestate).toBe("vendor=1");
    expect(started?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(replaced?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(replaced?.traceparent).not.toContain("00000000000000000000000000000000");
    expect(replaced?.tracestate).toBeUndefined();
    expect(started?.traceparent).not.toBe(replaced?.traceparent);
  });

  it("passes a problem+json error through with its status and Retry-After", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(503, { "content-type": "application/problem+json", "retry-after": "5" });
      res.end(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503 }));
    });

    const response = await proxyToApi(new Request("http://web.test/api/v1/system"), { base: upstream.base });

    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("retry-after")).toBe("5");
  });

  it("answers 502 problem+json when nothing listens at the API address, and logs why", async () => {
    upstream = await startUpstream(() => {});
    const base = upstream.base;
    await upstream.close();
    upstream = undefined;
    const logged: string[] = [];

    const response = await proxyToApi(new Request("http://web.test/api/v1/system"), {
      base,
      log: (line) => logged.push(line),
    });

    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    await expect(response.json()).resolves.toMatchObject({
      type: "https://strata.dev/problems/api-unreachable",
      title: "API unreachable",
      status: 502,
    });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`GET ${base}/v1/system failed`);
    expect(logged[0]).toContain("ECONNREFUSED");
  });
});

describe("proxyToApi and the session cookie", () => {
  it("turns the session cookie into a bearer token and never forwards the cookie", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    const request = new Request("http://web.test/api/v1/models", {
      headers: { cookie: "theme=dark; __Host-strata_session=jwt%2Etoken; other=1" },
    });

    await proxyToApi(request, { base: upstream.base });

    expect(upstream.seen[0]?.headers.authorization).toBe("Bearer jwt.token");
    expect(upstream.seen[0]?.headers.cookie).toBeUndefined();
  });

  it("keeps an Authorization header the caller sent itself", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.end();
    });
    await proxyToApi(
      new Request("http://web.test/api/v1/models", { headers: { authorization: "Bearer own", cookie: "__Host-strata_session=cookie" } }),
      { base: upstream.base },
    );
    expect(upstream.seen[0]?.headers.authorization).toBe("Bearer own");
  });

  it("ends the session when the API rejects its token", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(401, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "https://strata.dev/problems/unauthenticated", title: "Unauthenticated", status: 401 }));
    });

    const withCookie = await proxyToApi(new Request("http://web.test/api/v1/models", { headers: { cookie: "__Host-strata_session=old" } }), {
      base: upstream.base,
    });
    expect(withCookie.status).toBe(401);
    expect(withCookie.headers.get("set-cookie")).toMatch(/^__Host-strata_session=; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=0/);

    const without = await proxyToApi(new Request("http://web.test/api/v1/models"), { base: upstream.base });
    expect(without.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a state-changing request from another origin before it reaches the API", async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.end();
    });
    const forged = new Request("http://web.test/api/v1/models/digits/aliases/production", {
      method: "PUT",
      headers: { origin: "http://evil.test", cookie: "__Host-strata_session=jwt", host: "web.test" },
      body: "{}",
    });

    const response = await proxyToApi(forged, { base: upstream.base });

    expect(response.status).toBe(403);
    await expect(response.json()).resolves.toMatchObject({ type: "https://strata.dev/problems/cross-origin" });
    expect(upstream.seen).toHaveLength(0);

    const sameOrigin = new Request("http://web.test/api/v1/models/digits/aliases/production", {
      method: "PUT",
      headers: { origin: "http://web.test", host: "web.test" },
      body: "{}",
    });
    expect((await proxyToApi(sameOrigin, { base: upstream.base })).status).toBe(200);
  });

  it("streams server-sent events as they come, marked no-transform", async () => {
    let finish!: () => void;
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write("id: 1\nevent: state\ndata: {}\n\n");
      finish = () => res.end("id: 2\nevent: state\ndata: {}\n\n");
    });

    const response = await proxyToApi(new Request("http://web.test/api/v1/training-jobs/j/events"), { base: upstream.base });

    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // The first event arrives while the upstream is still open: nothing buffers the stream.
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("id: 1");
    finish();
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toContain("id: 2");
  });
});
