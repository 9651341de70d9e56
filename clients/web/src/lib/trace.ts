/**
 * W3C Trace Context (`traceparent`) for the first hop of a trace: the browser starts one per API
 * call, and the `/api` proxy, the web API and the ML service continue it, so one trace covers the
 * request from the page to the model. The page loads no OpenTelemetry SDK (it would need a
 * collector reachable from the internet): it only names the trace, and its own span is never
 * exported. With tracing on, the Next.js server's span for the request is the first one recorded
 * (lib/telemetry-node.ts); with it off, the proxy forwards this header as it came (lib/proxy.ts).
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new sampled `traceparent`: a random trace id and parent span id (never all zeros). */
export function newTraceparent(): string {
  let traceId = randomHex(16);
  let spanId = randomHex(8);
  while (/^0+$/.test(traceId)) traceId = randomHex(16);
  while (/^0+$/.test(spanId)) spanId = randomHex(8);
  return `00-${traceId}-${spanId}-01`;
}

/** Whether `value` is a version-00 `traceparent` the services will continue (ids not all zeros). */
export function isValidTraceparent(value: string | null | undefined): value is string {
  const match = value ? TRACEPARENT.exec(value) : null;
  return match !== null && !/^0+$/.test(match[1] ?? "") && !/^0+$/.test(match[2] ?? "");
}

/** `fetch` that gives every request its own trace unless it already names one. */
export function tracedFetch(doFetch: (input: Request) => Promise<Response> = (r) => fetch(r)) {
  return (request: Request): Promise<Response> => {
    if (!isValidTraceparent(request.headers.get("traceparent"))) {
      request.headers.set("traceparent", newTraceparent());
    }
    return doFetch(request);
  };
}
