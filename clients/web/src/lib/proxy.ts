/**
 * Forwards `/api/*` requests from the browser to the strata API, so the page talks only to its own
 * origin (no CORS, one URL to expose). The API's address is read at request time, from
 * STRATA_API_URL, so one build runs against any API: a container gets it from its environment.
 * The session cookie becomes the `Authorization: Bearer` header here (see session.ts); the cookie
 * itself never reaches the API.
 */

import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { API_PREFIX, DEFAULT_API_URL } from "./config";
import { clearedSessionCookie, crossOriginProblem, isSameOrigin, sessionToken, unreachableProblem } from "./session";
import { WEB_SERVICE_NAME } from "./telemetry";
import { isValidTraceparent, newTraceparent } from "./trace";

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

/**
 * The API's address as people outside this server reach it (for the commands the overview
 * shows): STRATA_PUBLIC_API_URL where the two differ (a cluster-internal STRATA_API_URL behind
 * an Ingress), else the proxy's own upstream.
 */
export function publicApiUrl(env: Record<string, string | undefined> = process.env): string {
  const configured = env.STRATA_PUBLIC_API_URL?.trim();
  return configured ? configured.replace(/\/+$/, "") : apiBaseUrl(env);
}

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

// The browser's cookies are for this app; the API authenticates with the bearer header alone.
const REQUEST_DROP = new Set([...HOP_BY_HOP, "cookie"]);
// fetch decodes compressed bodies, so the upstream's encoding and length no longer describe them.
const RESPONSE_DROP = new Set([...HOP_BY_HOP, "content-encoding", "content-length"]);

export { unreachableProblem };

export interface ProxyOptions {
  base?: string;
  fetch?: typeof fetch;
  /** Where connection failures are reported; the browser only sees a generic 502. */
  log?: (message: string) => void;
}

export async function proxyToApi(request: Request, options: ProxyOptions = {}): Promise<Response> {
  if (!isSameOrigin(request)) return crossOriginProblem();
  const target = upstreamUrl(request.url, options.base ?? apiBaseUrl());
  // With tracing on, Next.js's server span for this request is active (it continued the
  // browser's `traceparent`); a server without one (a test, a custom server) continues the
  // header itself.
  const active = context.active();
  const parent = trace.getSpan(active) ? active : propagation.extract(active, request.headers, HEADERS);
  const { pathname, hostname } = new URL(target);
  const attributes = { "http.request.method": request.method, "url.path": pathname, "server.address": hostname };
  return tracer().startActiveSpan(`proxy ${request.method}`, { kind: SpanKind.CLIENT, attributes }, parent, async (span) => {
    try {
      const response = await forward(request, target, options, span);
      span.setAttribute("http.response.status_code", response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      // At the upstream's response headers: a streamed body (events, a download) goes on after.
      span.end();
    }
  });
}

/** Reads and writes W3C Trace Context fields on a `Headers`. */
const HEADERS = {
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
  keys: (carrier: Headers) => [...carrier.keys()],
  set: (carrier: Headers, key: string, value: string) => carrier.set(key, value),
};

function tracer() {
  return trace.getTracer(WEB_SERVICE_NAME);
}

/**
 * W3C Trace Context on the way to the API. With tracing on (instrumentation.ts), the proxy's
 * client span becomes the API's parent. With tracing off, the browser's trace goes on to the API
 * as it came; a caller without one (curl, a script) or with a malformed one gets a new trace here,
 * as W3C Trace Context says, and `tracestate` stays only with the trace it belongs to.
 */
function propagateTrace(headers: Headers, span: Span): void {
  const incoming = headers.get("traceparent");
  const incomingState = headers.get("tracestate");
  headers.delete("traceparent");
  headers.delete("tracestate");
  propagation.inject(trace.setSpan(context.active(), span), headers, HEADERS);
  if (headers.has("traceparent")) return;
  if (isValidTraceparent(incoming)) {
    headers.set("traceparent", incoming);
    if (incomingState) headers.set("tracestate", incomingState);
  } else {
    headers.set("traceparent", newTraceparent());
  }
}

async function forward(request: Request, target: string, options: ProxyOptions, span: Span): Promise<Response> {
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const headers = forwardedHeaders(request.headers, REQUEST_DROP);
  // A caller that brings its own credentials (an API key's token from a script) keeps them.
  const token = headers.has("authorization") ? undefined : sessionToken(request);
  if (token) headers.set("authorization", `Bearer ${token}`);
  propagateTrace(headers, span);

  let upstream: Response;
  try {
    upstream = await (options.fetch ?? fetch)(target, {
      method: request.method,
      headers,
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

  const responseHeaders = forwardedHeaders(upstream.headers, RESPONSE_DROP);
  if (responseHeaders.get("content-type")?.startsWith("text/event-stream")) {
    // Events must reach the browser as they happen: no compression or buffering on the way.
    responseHeaders.set("cache-control", "no-cache, no-transform");
    responseHeaders.set("x-accel-buffering", "no");
  }
  // The API no longer accepts the session's token (expired, or a restarted --dev API with a new
  // key): end the session so the next page load asks to sign in instead of failing again.
  if (upstream.status === 401 && token) responseHeaders.append("set-cookie", clearedSessionCookie());
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders,
  });
}
