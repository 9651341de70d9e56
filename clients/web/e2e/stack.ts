/**
 * Starts the real strata stack on free loopback ports for end-to-end tests: strata-ml, strata-api
 * pointing at it, and the built standalone Next.js server pointing at the API. Each process's
 * output goes to a log file under test-results/logs so a failure can be read afterwards.
 * Optionally MiniLM is imported into the ML service's store first (with the `strata` CLI, the
 * way an operator would), so the embeddings page has a text encoder to call. Likewise
 * SmolLM2-135M-Instruct can be imported as a text generator for the chat page.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The bootstrap admin password of the API the e2e tests start (sign-in tests use it). */
export const E2E_ADMIN_PASSWORD = "e2e-admin-password";
const repoRoot = resolve(webDir, "../..");
export const resultsDir = join(webDir, "test-results");

const mlBin = resolve(repoRoot, process.env.STRATA_ML_BIN ?? "target/debug/strata-ml");
const apiBin = resolve(repoRoot, process.env.STRATA_API_BIN ?? "target/debug/strata-api");
const cliBin = resolve(repoRoot, process.env.STRATA_CLI_BIN ?? "target/debug/strata");
/** all-MiniLM-L6-v2 as tools/setup unpacks it from PyPI. */
export const minilmDir = resolve(repoRoot, process.env.STRATA_MINILM_DIR ?? ".cache/assets/all-MiniLM-L6-v2");
/** SmolLM2-135M-Instruct (Q4_1 GGUF) as tools/assets/fetch.sh fetches it. */
export const smollm2Gguf = resolve(repoRoot, process.env.STRATA_SMOLLM_GGUF ?? ".cache/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
/** The digits sample the flow uploads. */
export const digitsParquet = join(repoRoot, "libs/strata-data/samples/digits.parquet");
/** 240 support requests in four topics (columns `text`, `topic`), which the demo also seeds. */
export const supportRequestsParquet = join(repoRoot, "libs/strata-data/samples/support_requests.parquet");
const webServer = join(webDir, ".next/standalone/clients/web/server.js");

const STARTUP_TIMEOUT_MS = 30_000;

export interface Service {
  name: string;
  url: string;
  process: ChildProcess;
  /** Kills the process (SIGKILL by default, like a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Stack {
  ml: Service;
  api: Service;
  web: Service;
  /** Where a `demo` stack's API wrote the generated admin password. */
  adminPasswordFile: string;
  stop(): Promise<void>;
}

/** A port nothing listens on right now: bind port 0 on loopback, read it, release it. */
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

function start(name: string, command: string, args: string[], url: string, env: Record<string, string> = {}): Service {
  mkdirSync(join(resultsDir, "logs"), { recursive: true });
  const log = createWriteStream(join(resultsDir, "logs", `${name}.log`));
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  return {
    name,
    url,
    process: child,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `url` until it answers 200, failing early if the service's process dies. */
async function waitFor(service: Service, path: string): Promise<void> {
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

function requireFile(path: string, hint: string) {
  if (!existsSync(path)) throw new Error(`${path} does not exist: ${hint}`);
}

/** Imports a Hugging Face directory into the store under `dataDir` as the ML service lays it out. */
async function importModel(dataDir: string, dir: string, name: string, kind = "text-encoder"): Promise<void> {
  await new Promise<void>((done, fail) => {
    execFile(
      cliBin,
      ["--store", join(dataDir, "artifacts"), "import-hf", dir, "--name", name, "--kind", kind],
      { timeout: 120_000 },
      (error, _stdout, stderr) => (error ? fail(new Error(`strata import-hf failed: ${stderr || error.message}`)) : done()),
    );
  });
}

export interface StackOptions {
  /** Import all-MiniLM-L6-v2 as `minilm` before the ML service starts. */
  withMiniLM?: boolean;
  /** Import SmolLM2-135M-Instruct as `smollm2` (a text-generator) before the ML service starts. */
  withSmolLM2?: boolean;
  /**
   * A first start as `tools/dev/run` makes it: the API seeds the demo content (`--demo`, with
   * MiniLM) and writes the generated admin password to `Stack.adminPasswordFile`.
   */
  demo?: boolean;
  /** More environment for all three processes (the trace test's `OTEL_*`). */
  env?: Record<string, string>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  requireFile(mlBin, "build it with `cargo build -p strata-ml` or set STRATA_ML_BIN");
  requireFile(apiBin, "build it with `cargo build -p strata-api` or set STRATA_API_BIN");
  requireFile(webServer, "build the app with `pnpm build`");
  if (options.demo) requireFile(join(minilmDir, "model.safetensors"), "run tools/setup (it fetches MiniLM from PyPI) or set STRATA_MINILM_DIR");
  if (options.withMiniLM) {
    requireFile(cliBin, "build it with `cargo build -p strata-cli` or set STRATA_CLI_BIN");
    requireFile(join(minilmDir, "model.safetensors"), "run tools/setup (it fetches MiniLM from PyPI) or set STRATA_MINILM_DIR");
  }
  if (options.withSmolLM2) {
    requireFile(cliBin, "build it with `cargo build -p strata-cli` or set STRATA_CLI_BIN");
    requireFile(smollm2Gguf, "run tools/assets/fetch.sh or set STRATA_SMOLLM_GGUF");
  }

  const dataDir = await mkdtemp(join(tmpdir(), "strata-e2e-"));
  const adminPasswordFile = join(dataDir, "admin-password");
  const [mlPort, apiPort, webPort] = [await freePort(), await freePort(), await freePort()];
  const started: Service[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.kill("SIGTERM")));
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    if (options.withMiniLM) await importModel(dataDir, minilmDir, "minilm");
    if (options.withSmolLM2) await importModel(dataDir, smollm2Gguf, "smollm2", "text-generator");
    const env = options.env ?? {};
    const ml = start("strata-ml", mlBin, ["--listen", `127.0.0.1:${mlPort}`, "--metrics-listen", "127.0.0.1:0", "--data-dir", dataDir, "--import-dir", dirname(minilmDir)], `http://127.0.0.1:${mlPort}`, env);
    started.push(ml);
    const api = start(
      "strata-api",
      apiBin,
      [
        ...["--listen", `127.0.0.1:${apiPort}`, "--metrics-listen", "127.0.0.1:0", "--ml-url", ml.url, "--dev", "--metadata-url", `sqlite:${join(dataDir, "api", "meta.db")}`],
        ...(options.demo
          ? ["--demo", "--demo-text-encoder", minilmDir, "--bootstrap-admin-password-file", adminPasswordFile]
          : ["--bootstrap-admin-password", E2E_ADMIN_PASSWORD]),
      ],
      `http://127.0.0.1:${apiPort}`,
      env,
    );
    started.push(api);
    await waitFor(api, "/healthz");
    // The page test needs the ML service itself up, not only the API in front of it.
    await waitFor(api, "/readyz");

    const web = start("web", process.execPath, [webServer], `http://127.0.0.1:${webPort}`, {
      ...env,
      PORT: String(webPort),
      HOSTNAME: "127.0.0.1",
      STRATA_API_URL: api.url,
      NEXT_TELEMETRY_DISABLED: "1",
    });
    started.push(web);
    await waitFor(web, "/signin");
    return { ml, api, web, adminPasswordFile, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
