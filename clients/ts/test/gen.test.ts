import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const script = join(packageDir, "scripts/gen.mjs");
const spec = resolve(packageDir, "../../services/strata-api/openapi.json");
const committed = join(packageDir, "src/generated/schema.ts");

async function check(specPath: string, outPath: string) {
  return run(process.execPath, [script, "--check", "--spec", specPath, "--out", outPath]).then(
    ({ stdout }) => ({ code: 0, output: stdout }),
    (error: { code: number; stderr: string }) => ({ code: error.code, output: error.stderr }),
  );
}

// Each case starts node and openapi-typescript afresh: a few seconds on a busy 2-core machine.
describe("generated schema", { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-gen-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is up to date with the committed OpenAPI spec", async () => {
    const result = await check(spec, committed);
    expect(result.output).toContain("is up to date");
    expect(result.code).toBe(0);
  });

  it("is reported stale when the spec gains a field", async () => {
    const document = JSON.parse(await readFile(spec, "utf8"));
    document.components.schemas.SystemInfo.properties.extra_field = { type: "string" };
    const changedSpec = join(dir, "openapi.json");
    await writeFile(changedSpec, JSON.stringify(document));

    const result = await check(changedSpec, committed);
    expect(result.code).toBe(1);
    expect(result.output).toContain("is stale");
  });

  it("is reported stale when the generated file is missing", async () => {
    const result = await check(spec, join(dir, "missing.ts"));
    expect(result.code).toBe(1);
  });
});
