/**
 * The OpenTelemetry SDK of the Next.js server (Node.js runtime only), started by
 * `instrumentation.ts` when `traceExportFromEnv` says export is on. It registers a tracer
 * provider that sends spans in batches to the OTLP/gRPC collector the `OTEL_EXPORTER_OTLP_*`
 * variables name (the exporter reads them itself: endpoint, headers, timeout, certificates), the
 * W3C Trace Context propagator, and an AsyncLocalStorage context so a request's spans nest.
 *
 * Next.js then records its own server span per request, continuing the browser's `traceparent`
 * (`clients/web/src/lib/trace.ts`), and the `/api` proxy (`lib/proxy.ts`) adds a client span
 * whose context it sends to the web API.
 */
import { context, diag, DiagConsoleLogger, DiagLogLevel, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from "@opentelemetry/sdk-trace";
import type { TraceExport } from "./telemetry";

/** Registers the process's tracer provider; `exporter` is the OTLP/gRPC one but in tests. */
export function startTracing(settings: TraceExport, exporter: SpanExporter = new OTLPTraceExporter()): TracerProvider {
  // Without a logger the SDK fails silently: an unreachable collector would go unnoticed.
  diag.setLogger(new DiagConsoleLogger(), { logLevel: DiagLogLevel[settings.logLevel.toUpperCase() as Uppercase<typeof settings.logLevel>] });
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name, as in the services.
  const resource = resourceFromAttributes({ "service.name": settings.serviceName }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new TracerProvider({
    resource,
    sampler: samplerFor(settings.sampler),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        ...(settings.scheduleDelayMillis === undefined ? {} : { scheduledDelayMillis: settings.scheduleDelayMillis }),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  // The proxy's own client span carries the trace to the API; Next.js's span around the same
  // fetch would be a second client span that nothing continues.
  process.env.NEXT_OTEL_FETCH_DISABLED ??= "1";
  return provider;
}

/** The SDK's sampler for an `OTEL_TRACES_SAMPLER` name. */
export function samplerFor({ name, ratio }: TraceExport["sampler"]): Sampler {
  const root = name.endsWith("always_off") ? new AlwaysOffSampler() : name.endsWith("traceidratio") ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler();
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root;
}
