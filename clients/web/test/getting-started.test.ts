import type { Model, ModelVersion } from "@strata/client";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { gettingStartedCommands, playgroundModels, SAMPLE_DIGIT } from "../src/lib/getting-started";

function model(name: string, kind: string, io: unknown, aliases: Record<string, string> = {}): Model {
  const version: ModelVersion = { version: "v1", kind, io_schema: io as ModelVersion["io_schema"], hyperparameters: {} as ModelVersion["hyperparameters"], size_bytes: 1 };
  return { name, versions: [version], aliases };
}

const DIGITS = model("digits", "mlp-classifier", { input: { type: "features", dim: 64 }, output: { type: "classes", classes: [] } }, { production: "v1" });
const MINILM = model("minilm", "text-encoder", { input: { type: "text" }, output: { type: "embedding", dim: 384 } });

describe("getting-started commands", () => {
  it("name this stack's API and the models the playgrounds would call", () => {
    const { curl, typescript } = gettingStartedCommands({ apiUrl: "http://127.0.0.1:8080/", user: "admin", ...playgroundModels([MINILM, DIGITS]) });
    expect(curl).toContain("API='http://127.0.0.1:8080'");
    expect(curl).toContain("$(cat .strata/admin-password)");
    expect(curl).toContain('"model": "minilm@v1"');
    expect(curl).toContain('"$API/v1/models/digits@production:predict"');
    expect(typescript).toContain('baseUrl: "http://127.0.0.1:8080"');
    expect(typescript).toContain('createEmbeddings("minilm@v1"');
  });

  it("leave out calls for models that are not there, and never guess another user's password", () => {
    const { curl, typescript } = gettingStartedCommands({ apiUrl: "https://api.example.com", user: "o'brien", ...playgroundModels([]) });
    expect(curl).not.toContain("embeddings");
    expect(curl).not.toContain(":predict");
    expect(curl).not.toContain("admin-password");
    expect(curl).toContain("'<your password>'");
    // The user name is shell-quoted, quote included.
    expect(curl).toContain(`--arg u 'o'"'"'brien'`);
    expect(typescript).not.toContain("createEmbeddings");
  });

  it("are valid shell", () => {
    const { curl } = gettingStartedCommands({ apiUrl: "http://127.0.0.1:8080", user: "admin", ...playgroundModels([MINILM, DIGITS]) });
    // bash -n parses without running anything.
    expect(() => execFileSync("bash", ["-n"], { input: curl })).not.toThrow();
  });

  it("carry a whole 8x8 digit", () => {
    expect(SAMPLE_DIGIT).toHaveLength(64);
    expect(SAMPLE_DIGIT.every((v) => Number.isInteger(v) && v >= 0 && v <= 16)).toBe(true);
  });
});
