/**
 * One request through the web app is one trace across every hop (issue #22): the browser names
 * the trace (`traceparent`, lib/trace.ts), the Next.js server records its server span and the
 * `/api` proxy's client span, the web API its server, auth and gRPC client spans, and the ML
 * service its server span and the inference steps. All three processes export over OTLP/gRPC,
 * configured only by `OTEL_*` variables, to strata-testkit's receiver, run as a process.
 */
import { expect, test } from "@playwright/test";
import { signIn } from "./helpers";
import { spanTree, startOtlpReceiver, type CollectedSpan, type OtlpReceiver } from "./otlp";
import { startStack, type Stack } from "./stack";

let receiver: OtlpReceiver;
let stack: Stack;

test.beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startStack({
    withMiniLM: true,
    // Export within a tenth of a second instead of the default five.
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "100" },
  });
});

test.afterAll(async () => {
  await stack?.stop();
  await receiver?.stop();
});

/** The span under `parent` with this service, kind and name (a string or a pattern). */
function child(spans: CollectedSpan[], parent: CollectedSpan, service: string, kind: CollectedSpan["kind"], name: string | RegExp): CollectedSpan {
  const found = spans.find(
    (s) => s.parent_span_id === parent.span_id && s.service === service && s.kind === kind && (typeof name === "string" ? s.name === name : name.test(s.name)),
  );
  if (!found) throw new Error(`no ${service} ${kind} span ${String(name)} under "${parent.name}":\n${spanTree(spans)}`);
  return found;
}

/** `span` and its ancestors within `spans`, nearest first. */
function lineage(spans: CollectedSpan[], span: CollectedSpan): CollectedSpan[] {
  const chain = [span];
  for (let s = span; s.parent_span_id; ) {
    const parent = spans.find((p) => p.span_id === s.parent_span_id);
    if (!parent) break;
    chain.push(parent);
    s = parent;
  }
  return chain;
}

test("comparing sentences in the playground is one trace from the browser to the model", async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, stack, "/playground/embeddings");
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("minilm@v1");

  const sent = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/v1/embeddings");
  await page.getByRole("button", { name: "Compare" }).click();
  await expect(page.getByTestId("similarity-matrix").locator("tbody tr")).toHaveCount(5);
  const traceparent = (await sent).headers().traceparent ?? "";
  const [, traceId = "", browserSpan = ""] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent) ?? [];
  expect(traceId, `the browser sends a sampled traceparent (got "${traceparent}")`).not.toBe("");

  const spans = await receiver.waitForTrace(traceId, (s) =>
    ["strata-web", "strata-api", "strata-ml"].every((service) => s.some((span) => span.service === service && span.kind === "server")) &&
    s.some((span) => span.name === "inference.forward"),
  );
  console.log(`span tree of one embeddings request from the playground (trace ${traceId}):\n${spanTree(spans)}`);

  // The Next.js server continues the browser's trace ...
  const web = spans.find((s) => s.service === "strata-web" && s.kind === "server");
  if (!web) throw new Error(`no strata-web server span:\n${spanTree(spans)}`);
  expect(web.parent_span_id, "the web server's span is the browser's child").toBe(browserSpan);
  expect(web.name).toMatch(/^POST\b/);
  // ... its proxy's client span (under Next.js's own route span) is the web API's parent ...
  const proxy = spans.find((s) => s.service === "strata-web" && s.kind === "client" && s.name === "proxy POST");
  if (!proxy) throw new Error(`no proxy client span:\n${spanTree(spans)}`);
  expect(lineage(spans, proxy)).toContain(web);
  expect(proxy.attributes["url.path"]).toBe("/v1/embeddings");
  expect(proxy.attributes["http.response.status_code"]).toBe("200");
  const api = child(spans, proxy, "strata-api", "server", "POST /v1/embeddings");
  expect(api.attributes["http.response.status_code"]).toBe("200");
  child(spans, api, "strata-api", "internal", "auth");
  // ... whose gRPC client span is the ML service's parent, down to the forward pass.
  const grpc = child(spans, api, "strata-api", "client", "strata.ml.v1.InferenceService/Embed");
  const ml = child(spans, grpc, "strata-ml", "server", "strata.ml.v1.InferenceService/Embed");
  expect(ml.attributes["rpc.grpc.status_code"]).toBe("0");
  child(spans, ml, "strata-ml", "internal", "inference.queue_wait");
  child(spans, ml, "strata-ml", "internal", "inference.forward");

  // One trace: the request left no span of its own in any other.
  const apiSpans = receiver.spans.filter((s) => s.service === "strata-api" && s.name === "POST /v1/embeddings");
  expect(apiSpans.map((s) => s.trace_id)).toEqual([traceId]);
  expect(spans.every((s) => !s.error), `no span failed:\n${spanTree(spans)}`).toBe(true);
});
