/**
 * Whether and how the Next.js server exports OpenTelemetry traces, read from the standard
 * `OTEL_*` variables the way the Rust services read them (`strata_runtime::telemetry`): export is
 * off unless `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_TRACES_EXPORTER=otlp` is set, and `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`
 * turn it off again. Like theirs, the export is OTLP over gRPC, so one collector address serves
 * all three processes.
 *
 * This module loads no SDK: `instrumentation.ts` asks it first and imports `telemetry-node.ts` (the
 * SDK and the exporter) only when export is on, so a server without a collector pays nothing.
 */

export interface TraceExport {
  /** `service.name` unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) says otherwise. */
  serviceName: string;
  /** `OTEL_BSP_SCHEDULE_DELAY` in milliseconds; `undefined` leaves the SDK's default (5 s). */
  scheduleDelayMillis?: number;
  /** `OTEL_TRACES_SAMPLER` (and its `_ARG` ratio); `parentbased_always_on` when unset. */
  sampler: { name: SamplerName; ratio: number };
  /** `OTEL_LOG_LEVEL`: what the SDK itself says on stderr (failed exports); `warn` when unset. */
  logLevel: LogLevel;
}

const LOG_LEVELS = ["none", "error", "warn", "info", "debug", "verbose", "all"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The specification's built-in samplers (the `jaeger_remote` and `xray` ones are left out). */
const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** The service name the web server's spans carry by default. */
export const WEB_SERVICE_NAME = "strata-web";

type Env = Record<string, string | undefined>;

/** The export the environment asks for, or `undefined` when traces are not exported. */
export function traceExportFromEnv(env: Env = process.env): TraceExport | undefined {
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const exporter = value("OTEL_TRACES_EXPORTER")?.toLowerCase();
  if (value("OTEL_SDK_DISABLED")?.toLowerCase() === "true" || exporter === "none") return undefined;
  const endpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? value("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (endpoint === undefined && exporter !== "otlp") return undefined;
  const delay = Number(value("OTEL_BSP_SCHEDULE_DELAY") ?? Number.NaN);
  const sampler = value("OTEL_TRACES_SAMPLER")?.toLowerCase();
  const ratio = Number(value("OTEL_TRACES_SAMPLER_ARG") ?? 1);
  const logLevel = value("OTEL_LOG_LEVEL")?.toLowerCase();
  return {
    serviceName: WEB_SERVICE_NAME,
    sampler: {
      // An unknown name falls back to the default, as the specification asks.
      name: SAMPLERS.find((s) => s === sampler) ?? "parentbased_always_on",
      ratio: Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1,
    },
    logLevel: LOG_LEVELS.find((l) => l === logLevel) ?? "warn",
    ...(Number.isFinite(delay) && delay >= 0 ? { scheduleDelayMillis: delay } : {}),
  };
}
