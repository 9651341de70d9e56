/**
 * The browser session: sign-in exchanges a password for an API token and keeps it in an
 * httpOnly, SameSite=Strict cookie; the `/api` proxy turns the cookie back into a bearer token.
 *
 * Why a cookie and not sessionStorage: page scripts (and anything injected into them) never see
 * the token, and `fetch` streams such as the training events authenticate without the token in
 * a URL. The cost is CSRF exposure, closed by SameSite=Strict plus a same-origin check on every
 * state-changing request (`isSameOrigin`). The cookie lives as long as the token does.
 */
import { createStrataClient, isStrataApiError, isStrataNetworkError, type Principal } from "@strata/client";
import { API_UNREACHABLE_PROBLEM, BAD_REQUEST_PROBLEM, CROSS_ORIGIN_PROBLEM, PAYLOAD_TOO_LARGE_PROBLEM, SESSION_COOKIE } from "./config";

/** A problem+json response in the API's own format. */
export function problemResponse(
  status: number,
  type: string,
  title: string,
  detail?: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type, title, status, ...(detail ? { detail } : {}) }), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store", ...headers },
  });
}

export function unreachableProblem(): Response {
  return problemResponse(502, API_UNREACHABLE_PROBLEM, "API unreachable", "The web server could not reach the strata API.");
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return value === "" ? undefined : decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function sessionToken(request: Request): string | undefined {
  return readCookie(request.headers.get("cookie"), SESSION_COOKIE);
}

/**
 * `Set-Cookie` for a session holding `token` for `maxAgeSeconds`. Always Secure, as the `__Host-`
 * prefix demands (with Path=/ and no Domain, so no other host or path can set or shadow it):
 * browsers accept Secure cookies from http://localhost and http://127.0.0.1 too, so the dev stack
 * on loopback works without TLS, and anywhere else the session only travels over HTTPS.
 */
export function sessionCookie(token: string, maxAgeSeconds: number): string {
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`;
}

/** `Set-Cookie` that ends the session. */
export function clearedSessionCookie(): string {
  return sessionCookie("", 0);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A state-changing request must come from a page of this origin. Browsers send `Origin` on every
 * such fetch or form post; a request without it is not from a browser page (curl, a server) and
 * carries no ambient cookie risk, unless Fetch Metadata says it is cross-site.
 */
export function isSameOrigin(request: Request): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.get("origin");
  if (origin === null) return request.headers.get("sec-fetch-site") !== "cross-site";
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const hosts = [request.headers.get("host"), request.headers.get("x-forwarded-host")?.split(",")[0]?.trim(), new URL(request.url).host];
  return hosts.some((h) => h && h === originHost);
}

export function crossOriginProblem(): Response {
  return problemResponse(403, CROSS_ORIGIN_PROBLEM, "Cross-origin request refused", "State-changing requests must come from this app's own pages.");
}

/** Turns a failed API call into the response the browser gets: the API's problem, or a 502. */
function failure(error: unknown): Response {
  if (isStrataApiError(error)) {
    const headers: Record<string, string> = {};
    if (error.status === 401) headers["set-cookie"] = clearedSessionCookie();
    return problemResponse(error.status, error.type, error.title, error.detail, headers);
  }
  if (isStrataNetworkError(error)) return unreachableProblem();
  throw error;
}

/** The most `POST /session` reads: a user name and a password fit many times over. */
export const SIGN_IN_BODY_LIMIT = 8 * 1024;

/**
 * The request's JSON body, read up to `limit` bytes and no further (a declared Content-Length
 * over it is refused unread), or the problem to answer instead: 413 beyond the limit, 400 when the
 * body is not UTF-8 JSON.
 */
export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
  const tooLarge = () =>
    problemResponse(413, PAYLOAD_TOO_LARGE_PROBLEM, "Payload too large", `The body may be at most ${limit} bytes.`);
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limit)) return tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      size += chunk.value.byteLength;
      if (size > limit) {
        await reader.cancel();
        return tooLarge();
      }
      chunks.push(chunk.value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
  } catch {
    return problemResponse(400, BAD_REQUEST_PROBLEM, "Bad request", "The body must be JSON: {\"username\": …, \"password\": …}.");
  }
}

export interface SessionOptions {
  /** The API's base URL. */
  base: string;
  fetch?: ((input: Request) => Promise<Response>) | undefined;
}

/** `POST /session`: `{username, password}` → the principal, with the session cookie set. */
export async function signIn(request: Request, options: SessionOptions): Promise<Response> {
  if (!isSameOrigin(request)) return crossOriginProblem();
  const body = await readJsonBody(request, SIGN_IN_BODY_LIMIT);
  if (body instanceof Response) return body;
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const username = typeof fields.username === "string" ? fields.username.trim() : "";
  const password = typeof fields.password === "string" ? fields.password : "";
  if (username === "" || password === "") {
    return problemResponse(400, BAD_REQUEST_PROBLEM, "Bad request", "Enter a user name and a password.");
  }
  const client = createStrataClient({ baseUrl: options.base, fetch: options.fetch });
  try {
    const token = await client.createToken({ username, password });
    client.setToken(token.access_token);
    const principal: Principal = await client.getCurrentPrincipal();
    return new Response(JSON.stringify({ ...principal, expires_in: token.expires_in }), {
      status: 200,
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
        "set-cookie": sessionCookie(token.access_token, token.expires_in),
      },
    });
  } catch (error) {
    return failure(error);
  }
}

/** `GET /session`: who the session belongs to, 401 (and a cleared cookie) when there is none. */
export async function currentSession(request: Request, options: SessionOptions): Promise<Response> {
  const token = sessionToken(request);
  if (!token) {
    return problemResponse(401, "https://strata.dev/problems/unauthenticated", "Unauthenticated", "Not signed in.");
  }
  const client = createStrataClient({ baseUrl: options.base, fetch: options.fetch, token });
  try {
    const principal = await client.getCurrentPrincipal();
    return Response.json(principal, { headers: { "cache-control": "no-store" } });
  } catch (error) {
    return failure(error);
  }
}

/**
 * `DELETE /session`: forgets the token. The token itself stays valid until it expires, or until
 * the user's password changes or the user is removed (the API checks both on every request).
 */
export function signOut(request: Request): Response {
  if (!isSameOrigin(request)) return crossOriginProblem();
  return new Response(null, { status: 204, headers: { "set-cookie": clearedSessionCookie(), "cache-control": "no-store" } });
}
