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
import { API_UNREACHABLE_PROBLEM, CROSS_ORIGIN_PROBLEM, SESSION_COOKIE } from "./config";

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

/** Whether the browser reached us over TLS (directly or through a proxy that says so). */
function isHttps(request: Request): boolean {
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https" || new URL(request.url).protocol === "https:";
}

/** `Set-Cookie` for a session holding `token` for `maxAgeSeconds`. */
export function sessionCookie(request: Request, token: string, maxAgeSeconds: number): string {
  const secure = isHttps(request) ? "; Secure" : "";
  const maxAge = Math.max(0, Math.floor(maxAgeSeconds));
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure}`;
}

/** `Set-Cookie` that ends the session. */
export function clearedSessionCookie(request: Request): string {
  return sessionCookie(request, "", 0);
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
function failure(error: unknown, request: Request): Response {
  if (isStrataApiError(error)) {
    const headers: Record<string, string> = {};
    if (error.status === 401) headers["set-cookie"] = clearedSessionCookie(request);
    return problemResponse(error.status, error.type, error.title, error.detail, headers);
  }
  if (isStrataNetworkError(error)) return unreachableProblem();
  throw error;
}

export interface SessionOptions {
  /** The API's base URL. */
  base: string;
  fetch?: ((input: Request) => Promise<Response>) | undefined;
}

/** `POST /session`: `{username, password}` → the principal, with the session cookie set. */
export async function signIn(request: Request, options: SessionOptions): Promise<Response> {
  if (!isSameOrigin(request)) return crossOriginProblem();
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    body = undefined;
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const username = typeof fields.username === "string" ? fields.username.trim() : "";
  const password = typeof fields.password === "string" ? fields.password : "";
  if (username === "" || password === "") {
    return problemResponse(400, "https://strata.dev/problems/bad-request", "Bad request", "Enter a user name and a password.");
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
        "set-cookie": sessionCookie(request, token.access_token, token.expires_in),
      },
    });
  } catch (error) {
    return failure(error, request);
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
    return failure(error, request);
  }
}

/**
 * `DELETE /session`: forgets the token. The token itself stays valid until it expires, or until
 * the user's password changes or the user is removed (the API checks both on every request).
 */
export function signOut(request: Request): Response {
  if (!isSameOrigin(request)) return crossOriginProblem();
  return new Response(null, { status: 204, headers: { "set-cookie": clearedSessionCookie(request), "cache-control": "no-store" } });
}
