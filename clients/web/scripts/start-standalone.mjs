#!/usr/bin/env node
// Runs the built standalone server (what the container image runs) on 127.0.0.1:3000 by default.
// PORT, HOSTNAME and STRATA_API_URL pass through from the environment.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const server = join(dirname(fileURLToPath(import.meta.url)), "../.next/standalone/clients/web/server.js");
if (!existsSync(server)) {
  console.error("The app is not built yet: run `pnpm build` first.");
  process.exit(1);
}
const env = { PORT: "3000", HOSTNAME: "127.0.0.1", NEXT_TELEMETRY_DISABLED: "1", ...process.env };
const child = spawn(process.execPath, [server], { stdio: "inherit", env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
