import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { currentSession, isSameOrigin, readCookie, SIGN_IN_BODY_LIMIT, signIn, signOut } from "../src/lib/session";

/** A stand-in for the strata API's auth endpoints on a real loopback port. */
async function fakeApi(): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const problem = (status: number, title: string, detail: string) => {
        res.writeHead(status, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: `https://strata.dev/problems/${title.toLowerCase()}`, title, status, detail }));
      };
      if (req.url === "/v1/auth/token") {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { username: string; password: string };
        if (body.username === "admin" && body.password === "secret") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ access_token: "jwt-1", token_type: "Bearer", expires_in: 3600 }));
        } else problem(401, "Unauthenticated", "wrong username or password");
      } else if (req.url === "/v1/auth/me") {
        if (req.headers.authorization === "Bearer jwt-1") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ name: "admin", role: "admin" }));
        } else problem(401, "Unauthenticated", "invalid token");
      } else problem(404, "Not found", req.url ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let api: Awaited<ReturnType<typeof fakeApi>> | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  new Request("http://web.test/session", {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://web.test", host: "web.test", ...headers },
    body: JSON.stringify(body),
  });

describe("signIn", () => {
  it("sets an httpOnly, SameSite=Strict cookie that lives as long as the token, and returns who signed in", async () => {
    api = await fakeApi();
    const response = await signIn(post({ username: "admin", password: "secret" }), { base: api.base });

    expect(response.status).toBe(200);
    await expect(response.json()).resolves.toEqual({ name: "admin", role: "admin", expires_in: 3600 });
    expect(response.headers.get("set-cookie")).toBe("__Host-strata_session=jwt-1; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=3600");
  });

  it("sets a __Host- cookie, Secure whether or not a proxy says the request came over TLS", async () => {
    api = await fakeApi();
    const behind: Record<string, string>[] = [{}, { "x-forwarded-proto": "http" }, { "x-forwarded-proto": "https" }];
    for (const headers of behind) {
      const cookie = (await signIn(post({ username: "admin", password: "secret" }, headers), { base: api.base })).headers.get("set-cookie") ?? "";
      // RFC 6265bis §4.1.3.2: Secure, Path=/ and no Domain, or browsers drop a __Host- cookie.
      expect(cookie).toMatch(/^__Host-strata_session=/);
      expect(cookie.split("; ")).toEqual(expect.arrayContaining(["Secure", "Path=/", "HttpOnly", "SameSite=Strict"]));
      expect(cookie).not.toMatch(/Domain=/i);
    }
  });

  it("passes the API's 401 problem through and sets no session", async () => {
    api = await fakeApi();
    const response = await signIn(post({ username: "admin", password: "nope" }), { base: api.base });

    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    await expect(response.json()).resolves.toMatchObject({ title: "Unauthenticated", detail: "wrong username or password" });
    expect(response.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("asks for both fields before calling the API", async () => {
    const response = await signIn(post({ username: " ", password: "" }), { base: "http://127.0.0.1:9" });
    expect(response.status).toBe(400);
    await expect(response.json()).resolves.toMatchObject({ detail: "Enter a user name and a password." });
  });

  it("answers 502 api-unreachable when the API is down", async () => {
    api = await fakeApi();
    const base = api.base;
    await api.close();
    api = undefined;
    const response = await signIn(post({ username: "admin", password: "secret" }), { base });
    expect(response.status).toBe(502);
    await expect(response.json()).resolves.toMatchObject({ type: "https://strata.dev/problems/api-unreachable" });
  });

  it("reads at most 8 KiB of the body: a longer one is refused with 413 and read no further", async () => {
    let pulled = 0;
    // A 1 MiB body, handed out 1 KiB at a time as it is read.
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 1024 * 1024) return controller.close();
        pulled += 1024;
        controller.enqueue(new Uint8Array(1024).fill(0x20));
      },
    });
    const request = new Request("http://web.test/session", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://web.test", host: "web.test" },
      body: endless,
      duplex: "half",
    } as RequestInit);

    const response = await signIn(request, { base: "http://127.0.0.1:9" });

    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    await expect(response.json()).resolves.toMatchObject({ type: "https://strata.dev/problems/payload-too-large", status: 413 });
    expect(pulled).toBeGreaterThan(SIGN_IN_BODY_LIMIT);
    // The stream may read ahead a chunk or two (its high-water mark), never the rest.
    expect(pulled).toBeLessThanOrEqual(SIGN_IN_BODY_LIMIT + 4 * 1024);
  });

  it("refuses a declared Content-Length over the limit before reading, and takes one at the limit", async () => {
    const declared = post({ username: "admin", password: "secret" }, { "content-length": String(SIGN_IN_BODY_LIMIT + 1) });
    expect((await signIn(declared, { base: "http://127.0.0.1:9" })).status).toBe(413);

    api = await fakeApi();
    const padded = JSON.stringify({ username: "admin", password: "secret", pad: "" });
    const atLimit = post({ username: "admin", password: "secret", pad: " ".repeat(SIGN_IN_BODY_LIMIT - padded.length) });
    expect((await atLimit.clone().text()).length).toBe(SIGN_IN_BODY_LIMIT);
    expect((await signIn(atLimit, { base: api.base })).status).toBe(200);
  });

  it("answers 400 problem+json to a body that is not JSON or not UTF-8", async () => {
    const raw = (body: BodyInit) =>
      new Request("http://web.test/session", { method: "POST", headers: { origin: "http://web.test", host: "web.test" }, body });
    for (const body of ["{\"username\": ", "username=admin&password=secret", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), ""]) {
      const response = await signIn(raw(body), { base: "http://127.0.0.1:9" });
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      await expect(response.json()).resolves.toMatchObject({ type: "https://strata.dev/problems/bad-request", status: 400 });
    }
  });

  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const response = await signIn(post({ username: "admin", password: "secret" }, { origin: "http://evil.test" }), { base: "http://127.0.0.1:9" });
    expect(response.status).toBe(403);
  });
});

describe("currentSession and signOut", () => {
  it("says who the cookie belongs to, or 401 without one", async () => {
    api = await fakeApi();
    const ok = await currentSession(new Request("http://web.test/session", { headers: { cookie: "__Host-strata_session=jwt-1" } }), { base: api.base });
    await expect(ok.json()).resolves.toEqual({ name: "admin", role: "admin" });

    const none = await currentSession(new Request("http://web.test/session"), { base: api.base });
    expect(none.status).toBe(401);

    const stale = await currentSession(new Request("http://web.test/session", { headers: { cookie: "__Host-strata_session=old" } }), { base: api.base });
    expect(stale.status).toBe(401);
    expect(stale.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("clears the cookie on sign-out", () => {
    const response = signOut(new Request("http://web.test/session", { method: "DELETE", headers: { origin: "http://web.test", host: "web.test" } }));
    expect(response.status).toBe(204);
    expect(response.headers.get("set-cookie")).toBe("__Host-strata_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
  });
});

describe("helpers", () => {
  it("reads one cookie out of a header", () => {
    expect(readCookie("a=1; strata_session=x%20y; b=2", "strata_session")).toBe("x y");
    expect(readCookie("a=1", "strata_session")).toBeUndefined();
    expect(readCookie(null, "strata_session")).toBeUndefined();
    expect(readCookie("strata_session=%E0%A4%A", "strata_session")).toBeUndefined();
  });

  it("lets safe methods and non-browser callers through, and checks Origin on the rest", () => {
    const req = (method: string, headers: Record<string, string>) => new Request("http://web.test/x", { method, headers });
    expect(isSameOrigin(req("GET", { origin: "http://evil.test" }))).toBe(true);
    expect(isSameOrigin(req("POST", {}))).toBe(true);
    expect(isSameOrigin(req("POST", { "sec-fetch-site": "cross-site" }))).toBe(false);
    expect(isSameOrigin(req("POST", { origin: "http://web.test" }))).toBe(true);
    expect(isSameOrigin(req("POST", { origin: "http://127.0.0.1:3000", "x-forwarded-host": "127.0.0.1:3000" }))).toBe(true);
    expect(isSameOrigin(req("DELETE", { origin: "http://evil.test" }))).toBe(false);
    expect(isSameOrigin(req("POST", { origin: "null" }))).toBe(false);
  });
});
