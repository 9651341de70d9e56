// The Next.js configuration. It lives here rather than in next.config.mjs because Bazel's
// nextjs_standalone_build generates its own next.config.mjs that imports this file; the
// next.config.mjs beside it only re-exports this one for `next build` outside Bazel.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Trace files from the repository root, where the pnpm store (or, under Bazel, the
// .aspect_rules_js store) lives, so the standalone output carries every dependency.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** @type {import('next').NextConfig} */
const nextConfig = {
  output: "standalone",
  outputFileTracingRoot: repoRoot,
  turbopack: { root: repoRoot },
  // The OTLP/gRPC exporter (loaded only when traces are exported, src/instrumentation.ts) is
  // required from node_modules at run time, not bundled: webpack would split @grpc/grpc-js into
  // two copies, and the channel credentials one makes are refused by the other.
  serverExternalPackages: ["@opentelemetry/exporter-trace-otlp-grpc"],
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
