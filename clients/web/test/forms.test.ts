import { describe, expect, it } from "vitest";
import { classBalance, columnRole, featureCount, isValidName, nameFromFile, uploadMetadata } from "../src/lib/datasets";
import { DEFAULT_FIELDS, fieldsFor, parseHyperparameters } from "../src/lib/hyperparameters";
import { defaultKind, trainableKinds } from "../src/lib/kinds";
import { activeNav } from "../src/lib/navigation";

describe("hyperparameters", () => {
  it("sends the filled fields of the kind, typed, and leaves empty ones to the defaults", () => {
    const parsed = parseHyperparameters("mlp-classifier", { ...DEFAULT_FIELDS, hiddenLayers: "128, 64", encoderLearningRate: "0.1" });
    expect(parsed).toEqual({
      ok: true,
      value: { epochs: 10, batch_size: 32, learning_rate: 0.005, seed: 7, hidden_layers: [128, 64] },
    });
  });

  it("reports every bad field at once, in words", () => {
    const parsed = parseHyperparameters("mlp-classifier", {
      ...DEFAULT_FIELDS,
      epochs: "0",
      learningRate: "fast",
      hiddenLayers: "64, x",
      validationFraction: "0.5",
      testFraction: "0.5",
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.epochs).toBe("Epochs must be between 1 and 10000.");
    expect(parsed.errors.learningRate).toBe("Learning rate must be a number.");
    expect(parsed.errors.hiddenLayers).toMatch(/comma/);
    expect(parsed.errors.testFraction).toMatch(/leave rows to train on/);
  });

  it("offers fine-tuning fields only to the text classifier", () => {
    expect(fieldsFor("text-classifier").has("fullFineTune")).toBe(true);
    expect(fieldsFor("text-classifier").has("hiddenLayers")).toBe(false);
    const parsed = parseHyperparameters("text-classifier", { ...DEFAULT_FIELDS, fullFineTune: true, encoderLearningRate: "0.00002" });
    expect(parsed.ok && parsed.value).toMatchObject({ full_fine_tune: true, encoder_learning_rate: 0.00002 });
    expect(parsed.ok && parsed.value.hidden_layers).toBeUndefined();
  });
});

describe("kinds", () => {
  const kinds = ["mlp-classifier", "text-encoder", "text-classifier"];
  it("does not offer import-only kinds for training, and fits the kind to the dataset", () => {
    expect(trainableKinds(kinds)).toEqual(["mlp-classifier", "text-classifier"]);
    expect(defaultKind(kinds, { schema: { text_column: "" } })).toBe("mlp-classifier");
    expect(defaultKind(kinds, { schema: { text_column: "text" } })).toBe("text-classifier");
    expect(defaultKind(["text-encoder"], undefined)).toBeUndefined();
  });
});

describe("dataset upload", () => {
  it("suggests a valid name from the file name", () => {
    expect(nameFromFile("digits.parquet")).toBe("digits");
    expect(nameFromFile("my data (2).PARQUET")).toBe("my-data-2");
    expect(nameFromFile(".hidden.parquet")).toBe("hidden");
    expect(isValidName(nameFromFile("digits (copy).parquet"))).toBe(true);
    expect(isValidName(".x")).toBe(false);
  });

  it("builds the metadata part, or says what is missing", () => {
    const fields = { name: "digits", description: " 8x8 ", labelColumn: "label", textColumn: "", featureColumns: "", classes: "" };
    expect(uploadMetadata(fields, { name: "d.parquet", size: 10 })).toEqual({
      ok: true,
      value: { name: "digits", description: "8x8", schema: { label_column: "label", text_column: "", feature_columns: [], classes: [] } },
    });
    const bad = uploadMetadata({ ...fields, name: "no spaces", textColumn: "t", featureColumns: "a, b" }, undefined);
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(Object.keys(bad.errors).sort()).toEqual(["featureColumns", "file", "name"]);
  });

  it("tells each column's role the way the ML service picks features", () => {
    const columns = [
      { name: "pixel_0_0", numeric: true },
      { name: "label", numeric: true },
      { name: "note", numeric: false },
    ];
    const inferred = { schema: { label_column: "label" }, columns: columns.map((c) => ({ ...c, data_type: "Float32", nullable: false })) };
    expect(columns.map((c) => columnRole(inferred, c))).toEqual(["feature", "label", "unused"]);
    expect(featureCount(inferred)).toBe(1);
    const text = { schema: { label_column: "label", text_column: "note" } };
    expect(columns.map((c) => columnRole(text, c))).toEqual(["unused", "label", "text"]);
    expect(classBalance({ classes: ["a", "b"], class_counts: [3, 4] })).toEqual([
      { label: "a", value: 3 },
      { label: "b", value: 4 },
    ]);
  });
});

describe("navigation", () => {
  it("highlights the section a page belongs to", () => {
    expect(activeNav("/")?.label).toBe("Overview");
    expect(activeNav("/training/job-1")?.label).toBe("Training");
    expect(activeNav("/playground/embeddings")?.label).toBe("Playground");
    expect(activeNav("/nope")).toBeUndefined();
  });
});
