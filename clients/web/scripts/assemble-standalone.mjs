#!/usr/bin/env node
// `next build` with output: 'standalone' leaves static assets and public/ out of the standalone
// tree on purpose (a CDN may serve them). We serve them from the same server, so copy them in,
// as Next's docs and Bazel's nextjs_standalone_server do.
import { cpSync, existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..");
// The standalone tree mirrors the repo layout from outputFileTracingRoot (the repo root) down.
const serverDir = join(appDir, ".next/standalone/clients/web");

if (!existsSync(join(serverDir, "server.js"))) {
  console.error(`no standalone server at ${serverDir}; did next build run with output: 'standalone'?`);
  process.exit(1);
}
for (const [from, to] of [
  [join(appDir, ".next/static"), join(serverDir, ".next/static")],
  [join(appDir, "public"), join(serverDir, "public")],
]) {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
console.log("standalone server ready: node .next/standalone/clients/web/server.js");
