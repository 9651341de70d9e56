// Next.js calls `register` once when the server starts. Traces are exported only from the Node.js
// runtime and only when the OTEL_* variables ask for it (lib/telemetry.ts); otherwise neither the
// OpenTelemetry SDK nor its exporter is loaded.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { traceExportFromEnv } = await import("./lib/telemetry");
  const settings = traceExportFromEnv();
  if (!settings) return;
  const { startTracing } = await import("./lib/telemetry-node");
  startTracing(settings);
}
