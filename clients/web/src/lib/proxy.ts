/**
 * Forwards `/api/*` requests from the browser to the strata API, so the page talks only to its own
 * origin (no CORS, one URL to expose). The API's address is read at request time, from
 * STRATA_API_URL, so one build runs against any API: a container gets it from its environment.
 */

import { API_PREFIX, API_UNREACHABLE_PROBLEM, DEFAULT_API_URL } from "./config";

// Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not be forwarded; `host`
// must name the upstream, which fetch sets itself.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** The API base URL from the environment, without a trailing slash. */
export function apiBaseUrl(env: Record<string, string | undefined> = process.env): string {
  const configured = env.STRATA_API_URL?.trim();
  return (configured ? configured : DEFAULT_API_URL).replace(/\/+$/, "");
}

/** Maps `/api/v1/system?x=1` on this origin to `<base>/v1/system?x=1`. */
export function upstreamUrl(requestUrl: string, base: string): string {
  const url = new URL(requestUrl);
  const path = url.pathname.startsWith(`${API_PREFIX}/`) ? url.pathname.slice(API_PREFIX.length) : "/";
  return `${base}${path}${url.search}`;
}

function forwardedHeaders(headers: Headers, drop: Set<string>): Headers {
  const out = new Headers();
  headers.forEach((value, name) => {
    if (!drop.has(name.toLowerCase())) out.append(name, value);
  });
  return out;
}

// fetch decodes compressed bodies, so the upstream's encoding and length no longer describe them.
const RESPONSE_DROP = new Set([...HOP_BY_HOP, "content-encoding", "content-length"]);

/** A problem+json answer for when the API cannot be reached at all. */
export function unreachableProblem(): Response {
  return Response.json(
    {
      type: API_UNREACHABLE_PROBLEM,
      title: "API unreachable",
      status: 502,
      detail: "The web server could not reach the strata API.",
    },
    { status: 502, headers: { "content-type": "application/problem+json", "cache-control": "no-store" } },
  );
}

export interface ProxyOptions {
  base?: string;
  fetch?: typeof fetch;
  /** Where connection failures are reported; the browser only sees a generic 502. */
  log?: (message: string) => void;
}

export async function proxyToApi(request: Request, options: ProxyOptions = {}): Promise<Response> {
  const base = options.base ?? apiBaseUrl();
  const doFetch = options.fetch ?? fetch;
  const target = upstreamUrl(request.url, base);
  const hasBody = request.method !== "GET" && request.method !== "HEAD";

  let upstream: Response;
  try {
    upstream = await doFetch(target, {
      method: request.method,
      headers: forwardedHeaders(request.headers, HOP_BY_HOP),
      // Streamed, not buffered: uploads and server-sent events pass straight through.
      ...(hasBody ? { body: request.body, duplex: "half" } : {}),
      redirect: "manual",
      // A browser that goes away cancels the upstream request too.
      signal: request.signal,
    } as RequestInit);
  } catch (error) {
    if (request.signal.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    (options.log ?? console.error)(`strata web: ${request.method} ${target} failed${cause}`);
    return unreachableProblem();
  }

  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: forwardedHeaders(upstream.headers, RESPONSE_DROP),
  });
}
