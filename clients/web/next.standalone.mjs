// The Next.js configuration. It lives here rather than in next.config.mjs because Bazel's
// nextjs_standalone_build generates its own next.config.mjs that imports this file; the
// next.config.mjs beside it only re-exports this one for `next build` outside Bazel.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Trace files from the repository root, where the pnpm store (or, under Bazel, the
// .aspect_rules_js store) lives, so the standalone output carries every dependency.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

// Headers on every response: pages, the /session and /api routes, static files. The CSP here denies
// everything, which fits what is not a page (JSON, scripts, the SVG icon opened on its own);
// src/proxy.ts replaces it on pages with a policy that has a per-request nonce
// (src/lib/security-headers.ts).
const securityHeaders = (production) => [
  { key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
  // Always in a production build: browsers ignore it over plain HTTP (RFC 6797 §8.1), so it takes
  // effect exactly where the app is served over HTTPS, without trusting X-Forwarded-Proto from
  // whatever terminates TLS. Left out of `next dev`, so https://localhost stays unpinned.
  ...(production ? [{ key: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" }] : []),
];

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
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders(process.env.NODE_ENV === "production") }];
  },
};

export default nextConfig;
