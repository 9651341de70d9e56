import { describe, expect, it } from "vitest";
import { buildObject, humanise, parseField, schemaFields, valueList, type SchemaField } from "../src/lib/schema-form";
import { HYPERPARAMETERS, MLP_PARAMETERS, TEXT_CLASSIFIER_PARAMETERS, TEXT_NGRAM_PARAMETERS } from "./fixtures/kinds";

const field = (schema: unknown, name = "x"): SchemaField => {
  const found = schemaFields({ type: "object", properties: { [name]: schema } })[0];
  if (!found) throw new Error("no field");
  return found;
};
const byName = (schema: unknown) => Object.fromEntries(schemaFields(schema).map((f) => [f.name, f]));

describe("schemaFields", () => {
  it("gives each property a control, a label, a hint and the server's default as placeholder", () => {
    const hp = byName(HYPERPARAMETERS);
    expect(Object.keys(hp)).toEqual(Object.keys(HYPERPARAMETERS.properties));
    expect(hp.epochs).toMatchObject({ label: "Epochs", placeholder: "30", control: { type: "integer" }, hint: "Passes over the training split. At least 1." });
    expect(hp.batch_size).toMatchObject({ label: "Batch size", placeholder: "32" });
    expect(hp.learning_rate).toMatchObject({ control: { type: "number" }, placeholder: "0.001", hint: "AdamW step size. Above 0." });
    expect(hp.test_fraction?.hint).toBe("At least 0 and below 1.");
    expect(hp.seed?.hint).toBe("Equal seeds give equal metrics. At least 0.");

    const ngram = byName(TEXT_NGRAM_PARAMETERS);
    expect(ngram.buckets).toMatchObject({ label: "Buckets", placeholder: "8192", hint: "Hash buckets the n-grams fall into. From 16 to 1048576." });
    expect(ngram.char_ngrams?.label).toBe("Char ngrams");
  });

  it("uses the schema's title over the property name", () => {
    expect(byName(MLP_PARAMETERS).hidden).toMatchObject({
      label: "Hidden layers",
      control: { type: "list", item: "integer" },
      placeholder: "128",
      hint: "Widths of the hidden layers. Comma-separated, each from 1 to 65536, at most 16 values.",
    });
  });

  it("reads string choices from oneOf/const and from enum", () => {
    const mode = byName(TEXT_CLASSIFIER_PARAMETERS).mode;
    expect(mode?.control).toEqual({
      type: "choice",
      options: [
        { value: "head", description: "Only the classification head." },
        { value: "full", description: "The whole encoder as well." },
      ],
    });
    expect(mode?.placeholder).toBe("head");
    expect(field({ type: ["string", "null"], enum: ["a", "b", null] }).control).toEqual({ type: "choice", options: [{ value: "a" }, { value: "b" }] });
  });

  it("sees through an optional property written as anyOf with null", () => {
    const f = field({ description: "Outer words.", default: 3, anyOf: [{ type: "integer", minimum: 2 }, { type: "null" }] });
    expect(f).toMatchObject({ control: { type: "integer" }, placeholder: "3", hint: "Outer words. At least 2." });
  });

  it("falls back to a JSON field for what it cannot type, and never throws on odd schemas", () => {
    expect(field({ type: "object", properties: { a: { type: "integer" } }, default: { a: 1 } })).toMatchObject({
      control: { type: "json" },
      placeholder: '{"a":1}',
      hint: "As JSON.",
    });
    expect(field({ type: "array", items: { type: "string" } }).control).toEqual({ type: "json" });
    expect(field({ type: ["integer", "string"] }).control).toEqual({ type: "json" });
    expect(field(true).control).toEqual({ type: "json" });
    expect(field({ oneOf: [{ const: 1 }, { const: 2 }] }).control).toEqual({ type: "json" });
    expect(schemaFields(null)).toEqual([]);
    expect(schemaFields({ type: "object" })).toEqual([]);
    expect(schemaFields("nonsense")).toEqual([]);
  });

  it("humanises names", () => {
    expect(humanise("early_stopping_patience")).toBe("Early stopping patience");
    expect(humanise("encoderLrScale")).toBe("Encoder lr scale");
    expect(humanise("max-words")).toBe("Max words");
  });
});

describe("parseField", () => {
  const hp = byName(HYPERPARAMETERS);
  const ngram = byName(TEXT_NGRAM_PARAMETERS);

  it("types integers and numbers and holds them to the bounds", () => {
    expect(parseField(ngram.buckets!, " 1024 ")).toEqual({ ok: true, value: 1024 });
    expect(parseField(ngram.buckets!, "8")).toEqual({ ok: false, error: "Buckets must be a whole number from 16 to 1048576." });
    expect(parseField(ngram.buckets!, "1048577").ok).toBe(false);
    expect(parseField(ngram.buckets!, "1.5")).toEqual({ ok: false, error: "Buckets must be a whole number from 16 to 1048576." });
    expect(parseField(ngram.char_ngrams!, "0")).toEqual({ ok: true, value: 0 });
    expect(parseField(hp.learning_rate!, "0")).toEqual({ ok: false, error: "Learning rate must be a number above 0." });
    expect(parseField(hp.learning_rate!, "fast").ok).toBe(false);
    expect(parseField(hp.learning_rate!, "5e-4")).toEqual({ ok: true, value: 0.0005 });
    expect(parseField(hp.test_fraction!, "1")).toEqual({ ok: false, error: "Test fraction must be a number at least 0 and below 1." });
    expect(parseField(hp.epochs!, "4294967296")).toEqual({ ok: false, error: "Epochs must be a whole number from 1 to 4294967295." });
    expect(parseField(hp.seed!, "99999999999999999999").ok).toBe(false);
  });

  it("takes a blank field as the server's default", () => {
    expect(parseField(hp.epochs!, "  ")).toEqual({ ok: true, value: undefined });
  });

  it("accepts only the offered choices, and booleans as yes or no", () => {
    const mode = byName(TEXT_CLASSIFIER_PARAMETERS).mode!;
    expect(parseField(mode, "full")).toEqual({ ok: true, value: "full" });
    expect(parseField(mode, "most")).toEqual({ ok: false, error: "Mode must be one of head, full." });
    const flag = field({ type: "boolean", default: false }, "shuffle");
    expect(flag.placeholder).toBe("no");
    expect(parseField(flag, "true")).toEqual({ ok: true, value: true });
    expect(parseField(flag, "false")).toEqual({ ok: true, value: false });
    expect(parseField(flag, "maybe").ok).toBe(false);
  });

  it("reads integer lists typed with commas, or as JSON", () => {
    const hidden = byName(MLP_PARAMETERS).hidden!;
    expect(parseField(hidden, "256, 256")).toEqual({ ok: true, value: [256, 256] });
    expect(parseField(hidden, "[]")).toEqual({ ok: true, value: [] });
    expect(parseField(hidden, "[64,32]")).toEqual({ ok: true, value: [64, 32] });
    const bad = parseField(hidden, "64, x");
    expect(bad).toEqual({
      ok: false,
      error: "Hidden layers must be whole numbers from 1 to 65536, separated by commas (at most 16 values), e.g. 128, 64.",
    });
    expect(parseField(hidden, "64,,32").ok).toBe(false);
    expect(parseField(hidden, "0").ok).toBe(false);
    expect(parseField(hidden, Array.from({ length: 17 }, () => "8").join(",")).ok).toBe(false);
    expect(parseField(hidden, "[1, 2").ok).toBe(false);
  });

  it("parses the JSON fallback and says when it is not JSON", () => {
    const f = field({ type: "object", default: { a: 1 } }, "extra");
    expect(parseField(f, '{"b": [1, 2]}')).toEqual({ ok: true, value: { b: [1, 2] } });
    expect(parseField(f, "{b: 1}")).toEqual({ ok: false, error: 'Extra must be JSON, e.g. {"a":1}.' });
  });
});

describe("buildObject", () => {
  const fields = schemaFields(TEXT_NGRAM_PARAMETERS);

  it("sends only the filled fields, typed", () => {
    expect(buildObject(fields, {})).toEqual({ ok: true, value: {} });
    expect(buildObject(fields, { buckets: "1024", ngrams: "", char_ngrams: " ", max_words: "64" })).toEqual({
      ok: true,
      value: { buckets: 1024, max_words: 64 },
    });
  });

  it("reports every bad field at once", () => {
    const built = buildObject(fields, { buckets: "1", ngrams: "9", max_words: "many", char_ngrams: "2" });
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(Object.keys(built.errors).sort()).toEqual(["buckets", "max_words", "ngrams"]);
    expect(built.errors.max_words).toBe("Max words must be a whole number at least 1.");
  });

  it("ignores text for fields the schema does not have", () => {
    expect(buildObject(fields, { hidden: "64" })).toEqual({ ok: true, value: {} });
  });
});

describe("valueList", () => {
  it("labels settings from the schema in its order, humanises the rest and skips nulls", () => {
    expect(valueList({ seed: 7, epochs: 3, batch_size: null, surprise: { a: 1 } }, HYPERPARAMETERS)).toEqual([
      ["Epochs", "3"],
      ["Seed", "7"],
      ["Surprise", '{"a":1}'],
    ]);
    expect(valueList({ hidden: [64, 32] }, MLP_PARAMETERS)).toEqual([["Hidden layers", "64, 32"]]);
    expect(valueList({ hidden: [64, 32] })).toEqual([["Hidden", "64, 32"]]);
    expect(valueList(undefined)).toEqual([]);
  });
});
