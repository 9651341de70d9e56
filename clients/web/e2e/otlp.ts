/**
 * The OTLP/gRPC trace receiver of strata-testkit (`tools/testkit/src/bin/otlp-receiver.rs`) as a
 * child process: the services export their spans to it as they would to a collector, and it
 * hands each one back as a JSON line. Nothing is decoded here, so the spans are the ones the
 * OpenTelemetry protocol carried.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const receiverBin = resolve(repoRoot, process.env.STRATA_OTLP_RECEIVER_BIN ?? "target/debug/otlp-receiver");

/** One span as the receiver prints it (strata_testkit::CollectedSpan). */
export interface CollectedSpan {
  service: string;
  name: string;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  kind: "server" | "client" | "internal" | "producer" | "consumer" | "unspecified";
  start_unix_nanos: number;
  end_unix_nanos: number;
  attributes: Record<string, string>;
  error: boolean;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  /** Every span received so far. */
  spans: CollectedSpan[];
  /** The spans of `traceId` once `done` accepts them, or what arrived by `timeoutMs`. */
  waitForTrace(traceId: string, done: (spans: CollectedSpan[]) => boolean, timeoutMs?: number): Promise<CollectedSpan[]>;
  stop(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  if (!existsSync(receiverBin)) {
    throw new Error(`${receiverBin} does not exist: build it with \`cargo test --workspace --no-run\` or set STRATA_OTLP_RECEIVER_BIN`);
  }
  // Its stdin is a pipe: the receiver exits when this process goes away, even killed.
  const child: ChildProcess = spawn(receiverBin, [], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const spans: CollectedSpan[] = [];
  const lines = createInterface({ input: child.stdout! });
  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    child.once("exit", (code) => reject(new Error(`otlp-receiver exited (${code}) before listening`)));
    lines.on("line", (line) => {
      if (line.startsWith("listening ")) resolveEndpoint(line.slice("listening ".length));
      else spans.push(JSON.parse(line) as CollectedSpan);
    });
  });
  return {
    endpoint,
    spans,
    async waitForTrace(traceId, done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const trace = spans.filter((s) => s.trace_id === traceId);
        if (done(trace) || Date.now() >= deadline) return trace;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      child.stdin?.end();
      await exited;
    },
  };
}

/**
 * The spans as an indented tree (children under their parent, in start order) with service, kind
 * and duration, as `strata_testkit::span_tree` writes it; a span whose parent is not among them
 * is a root, and the line above it names that parent.
 */
export function spanTree(spans: CollectedSpan[]): string {
  const sorted = [...spans].sort((a, b) => a.start_unix_nanos - b.start_unix_nanos);
  const ids = new Set(sorted.map((s) => s.span_id));
  const lines: string[] = [];
  const walk = (span: CollectedSpan, depth: number) => {
    const kind = span.kind === "internal" ? "" : `, ${span.kind}`;
    const ms = ((span.end_unix_nanos - span.start_unix_nanos) / 1e6).toFixed(2);
    lines.push(`${"  ".repeat(depth)}${span.name} [${span.service}${kind}] ${ms} ms`);
    for (const child of sorted.filter((c) => c.parent_span_id === span.span_id)) walk(child, depth + 1);
  };
  for (const root of sorted.filter((s) => !s.parent_span_id || !ids.has(s.parent_span_id))) {
    if (root.parent_span_id) lines.push(`(parent ${root.parent_span_id}, not exported here)`);
    walk(root, 0);
  }
  return lines.join("\n");
}
