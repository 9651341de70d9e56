import type { Model, ModelVersion } from "@strata/client";
import { describe, expect, it } from "vitest";
import { aliasesOf, aliasProblem, candidates, classNames, embedsText, ioSchema, readsDigits } from "../src/lib/models";

function version(v: string, io: unknown, kind = "mlp-classifier"): ModelVersion {
  return { version: v, kind, io_schema: io as ModelVersion["io_schema"], hyperparameters: {} as ModelVersion["hyperparameters"], size_bytes: 1 };
}

const DIGITS_IO = {
  input: { type: "features", dim: 64, names: Array.from({ length: 64 }, (_, i) => `pixel_${Math.floor(i / 8)}_${i % 8}`) },
  output: { type: "classes", classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] },
};
const MINILM_IO = { input: { type: "text", max_tokens: 256 }, output: { type: "embedding", dim: 384 } };

describe("ioSchema", () => {
  it("reads the ML core's schema JSON", () => {
    expect(ioSchema(version("v1", DIGITS_IO)).input).toMatchObject({ type: "features", dim: 64 });
    expect(ioSchema(version("v1", MINILM_IO))).toEqual({ input: { type: "text", maxTokens: 256 }, output: { type: "embedding", dim: 384 } });
  });

  it("turns anything unexpected into unknown instead of throwing", () => {
    expect(ioSchema(version("v1", null))).toEqual({ input: { type: "unknown" }, output: { type: "unknown" } });
    expect(ioSchema(version("v1", { input: { type: "image" }, output: "x" }))).toEqual({ input: { type: "unknown" }, output: { type: "unknown" } });
  });

  it("names classes from the schema, or by index", () => {
    expect(classNames(version("v1", DIGITS_IO), 3)).toEqual(["0", "1", "2"]);
    expect(classNames(version("v1", MINILM_IO), 2)).toEqual(["0", "1"]);
  });
});

describe("candidates", () => {
  const models: Model[] = [
    { name: "zeta", aliases: {}, versions: [version("v1", DIGITS_IO)] },
    { name: "digits", aliases: { staging: "v1", production: "v2" }, versions: [version("v1", DIGITS_IO), version("v2", DIGITS_IO)] },
    { name: "minilm", aliases: {}, versions: [version("v1", MINILM_IO, "text-encoder")] },
    { name: "empty", aliases: {}, versions: [] },
  ];

  it("offers promoted models first, by their preferred alias", () => {
    const digits = candidates(models, readsDigits);
    expect(digits.map((c) => [c.ref, c.promoted, c.version.version])).toEqual([
      ["digits@production", true, "v2"],
      ["zeta@v1", false, "v1"],
    ]);
  });

  it("finds text encoders by their schema, not their name", () => {
    expect(candidates(models, embedsText).map((c) => c.ref)).toEqual(["minilm@v1"]);
  });

  it("lists the aliases of a version", () => {
    expect(aliasesOf(models[1] as Model, "v2")).toEqual(["production"]);
    expect(aliasesOf(models[1] as Model, "v3")).toEqual([]);
  });
});

describe("aliasProblem", () => {
  it("accepts what the registry accepts and explains the rest", () => {
    expect(aliasProblem("production")).toBeUndefined();
    expect(aliasProblem("canary-2")).toBeUndefined();
    expect(aliasProblem("Production")).toMatch(/lowercase/);
    expect(aliasProblem("")).toMatch(/1 to 64/);
    expect(aliasProblem("latest")).toMatch(/reserved/);
    expect(aliasProblem("v3")).toMatch(/reserved/);
  });
});
