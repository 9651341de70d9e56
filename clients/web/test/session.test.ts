import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { currentSession, isSameOrigin, readCookie, signIn, signOut } from "../src/lib/session";

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
    expect(response.headers.get("set-cookie")).toBe("strata_session=jwt-1; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600");
  });

  it("marks the cookie Secure behind TLS", async () => {
    api = await fakeApi();
    const response = await signIn(post({ username: "admin", password: "secret" }, { "x-forwarded-proto": "https" }), { base: api.base });
    expect(response.headers.get("set-cookie")).toMatch(/; Secure$/);
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

  it("refuses a sign-in posted from another site (login CSRF)", async () => {
    const response = await signIn(post({ username: "admin", password: "secret" }, { origin: "http://evil.test" }), { base: "http://127.0.0.1:9" });
    expect(response.status).toBe(403);
  });
});

describe("currentSession and signOut", () => {
  it("says who the cookie belongs to, or 401 without one", async () => {
    api = await fakeApi();
    const ok = await currentSession(new Request("http://web.test/session", { headers: { cookie: "strata_session=jwt-1" } }), { base: api.base });
    await expect(ok.json()).resolves.toEqual({ name: "admin", role: "admin" });

    const none = await currentSession(new Request("http://web.test/session"), { base: api.base });
    expect(none.status).toBe(401);

    const stale = await currentSession(new Request("http://web.test/session", { headers: { cookie: "strata_session=old" } }), { base: api.base });
    expect(stale.status).toBe(401);
    expect(stale.headers.get("set-cookie")).toMatch(/Max-Age=0/);
  });

  it("clears the cookie on sign-out", () => {
    const response = signOut(new Request("http://web.test/session", { method: "DELETE", headers: { origin: "http://web.test", host: "web.test" } }));
    expect(response.status).toBe(204);
    expect(response.headers.get("set-cookie")).toBe("strata_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
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
