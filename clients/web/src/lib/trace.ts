/**
 * W3C Trace Context (`traceparent`) for the first hops of a trace: the browser starts one per API
 * call, the `/api` proxy forwards it (or starts one for callers that sent none), and the web API
 * and the ML service continue it, so one trace covers the request from the page to the model.
 * No OpenTelemetry SDK here: the browser and the proxy only name the trace; the services record
 * and export its spans.
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
