import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { context, diag, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SamplingDecision, type TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyToApi } from "../src/lib/proxy";
import { traceExportFromEnv } from "../src/lib/telemetry";
import { samplerFor, startTracing } from "../src/lib/telemetry-node";

describe("traceExportFromEnv", () => {
  it("is off unless an OTLP endpoint or the otlp exporter is named, as in the Rust services", () => {
    expect(traceExportFromEnv({})).toBeUndefined();
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).toBeUndefined();
    expect(traceExportFromEnv({ OTEL_SERVICE_NAME: "web" })).toBeUndefined();
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" })).toMatchObject({ serviceName: "strata-web" });
    expect(traceExportFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4317" })).toMatchObject({ serviceName: "strata-web" });
    expect(traceExportFromEnv({ OTEL_TRACES_EXPORTER: "otlp" })).toMatchObject({ serviceName: "strata-web" });
  });

  it("is turned off again by OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" };
    expect(traceExportFromEnv({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
    expect(traceExportFromEnv({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" })).toBeUndefined();
    expect(traceExportFromEnv({ ...endpoint, OTEL_SDK_DISABLED: "false" })).toBeDefined();
  });

  it("takes the sampler from OTEL_TRACES_SAMPLER, parent-based always-on by default", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" };
    expect(traceExportFromEnv(endpoint)?.sampler).toEqual({ name: "parentbased_always_on", ratio: 1 });
    expect(traceExportFromEnv({ ...endpoint, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" })?.sampler).toEqual({
      name: "parentbased_traceidratio",
      ratio: 0.25,
    });
    expect(traceExportFromEnv({ ...endpoint, OTEL_TRACES_SAMPLER: "always_off" })?.sampler.name).toBe("always_off");
    expect(traceExportFromEnv({ ...endpoint, OTEL_TRACES_SAMPLER: "dice" })?.sampler.name).toBe("parentbased_always_on");
    expect(traceExportFromEnv({ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })?.sampler.ratio).toBe(1);
  });

  it("takes the SDK's own log level from OTEL_LOG_LEVEL, warnings by default", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" };
    expect(traceExportFromEnv(endpoint)?.logLevel).toBe("warn");
    expect(traceExportFromEnv({ ...endpoint, OTEL_LOG_LEVEL: "DEBUG" })?.logLevel).toBe("debug");
    expect(traceExportFromEnv({ ...endpoint, OTEL_LOG_LEVEL: "loud" })?.logLevel).toBe("warn");
  });

  it("takes the batch delay from OTEL_BSP_SCHEDULE_DELAY when it is a number", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317" };
    expect(traceExportFromEnv({ ...endpoint, OTEL_BSP_SCHEDULE_DELAY: "200" })?.scheduleDelayMillis).toBe(200);
    expect(traceExportFromEnv({ ...endpoint, OTEL_BSP_SCHEDULE_DELAY: "soon" })?.scheduleDelayMillis).toBeUndefined();
  });
});

describe("samplerFor", () => {
  const sampledParent = trace.setSpanContext(context.active(), { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1, isRemote: true });
  const decide = (name: Parameters<typeof samplerFor>[0]["name"], parent = context.active(), ratio = 1) =>
    samplerFor({ name, ratio }).shouldSample(parent, "4bf92f3577b34da6a3ce929d0e0e4736", "GET", SpanKind.SERVER, {}, []).decision;

  it("follows a sampled parent when parent-based, whatever it does for roots", () => {
    expect(decide("parentbased_always_off", sampledParent)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide("parentbased_always_off")).toBe(SamplingDecision.NOT_RECORD);
    expect(decide("parentbased_always_on")).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide("always_off", sampledParent)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide("traceidratio", context.active(), 0)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide("parentbased_traceidratio", sampledParent, 0)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });
});

describe("the proxy with tracing on", () => {
  const exporter = new InMemorySpanExporter();
  let provider: TracerProvider;
  let base = "";
  const seen: (string | undefined)[][] = [];
  const server = createServer((req, res) => {
    seen.push([req.headers.traceparent as string | undefined, req.headers.tracestate as string | undefined]);
    res.writeHead(req.url === "/v1/broken" ? 503 : 200, { "content-type": "application/json" });
    res.end("{}");
  });

  beforeAll(async () => {
    provider = startTracing({ serviceName: "strata-web", sampler: { name: "parentbased_always_on", ratio: 1 }, logLevel: "warn" }, exporter);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    diag.disable();
    context.disable();
    propagation.disable();
    delete process.env.NEXT_OTEL_FETCH_DISABLED;
    await new Promise((resolve) => server.close(resolve));
  });

  async function send(path: string, headers: Record<string, string> = {}) {
    seen.length = 0;
    exporter.reset();
    const response = await proxyToApi(new Request(`http://web.test/api${path}`, { method: "POST", headers }), { base });
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    return { response, span: spans[0]!, forwarded: seen[0] ?? [] };
  }

  it("records a client span under the browser's and makes it the API's parent", async () => {
    const browser = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const { span, forwarded } = await send("/v1/embeddings", { traceparent: browser, tracestate: "vendor=1" });
    const { traceId, spanId } = span.spanContext();
    expect(traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(span.parentSpanContext?.spanId).toBe("00f067aa0ba902b7");
    expect(span.name).toBe("proxy POST");
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.resource.attributes["service.name"]).toBe("strata-web");
    expect(span.attributes).toMatchObject({ "http.request.method": "POST", "url.path": "/v1/embeddings", "http.response.status_code": 200 });
    expect(forwarded).toEqual([`00-${traceId}-${spanId}-01`, "vendor=1"]);
  });

  it("starts a trace for a caller without one, dropping a tracestate of no trace", async () => {
    const { span, forwarded } = await send("/v1/embeddings", { tracestate: "vendor=1" });
    expect(span.parentSpanContext).toBeUndefined();
    const { traceId, spanId } = span.spanContext();
    expect(forwarded).toEqual([`00-${traceId}-${spanId}-01`, undefined]);
  });

  it("marks the span as failed when the API answers 5xx", async () => {
    const { response, span } = await send("/v1/broken");
    expect(response.status).toBe(503);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes["http.response.status_code"]).toBe(503);
  });
});
