import type { MlServiceInfo, Model } from "@strata/client";
import { describe, expect, it } from "vitest";
import { classBalance, columnRole, featureCount, isValidName, nameFromFile, uploadMetadata } from "../src/lib/datasets";
import { jobRequest, type JobFormInput } from "../src/lib/job-form";
import { baseCandidates, defaultKind, findKind, kindsOf, trainableKinds } from "../src/lib/model-kinds";
import { schemaFields } from "../src/lib/schema-form";
import { activeNav } from "../src/lib/navigation";
import { HYPERPARAMETERS, ML, MLP, TEXT_CLASSIFIER, TEXT_ENCODER, TEXT_NGRAM } from "./fixtures/kinds";

describe("model kinds", () => {
  it("offers only trainable kinds, in the server's order, and fits the kind to the dataset", () => {
    expect(trainableKinds(ML.kinds).map((k) => k.name)).toEqual(["mlp-classifier", "text-classifier", "text-ngram-classifier"]);
    expect(defaultKind(ML.kinds, { schema: { text_column: "" } })?.name).toBe("mlp-classifier");
    expect(defaultKind(ML.kinds, { schema: { text_column: "text" } })?.name).toBe("text-classifier");
    expect(defaultKind([TEXT_NGRAM, MLP], { schema: { text_column: "text" } })?.name).toBe("text-ngram-classifier");
    // No kind reads what the dataset has: the first trainable one is offered rather than none.
    expect(defaultKind([TEXT_NGRAM], { schema: {} })?.name).toBe("text-ngram-classifier");
    expect(defaultKind([TEXT_ENCODER], undefined)).toBeUndefined();
  });

  it("reads kinds from a server that sends none as no kinds", () => {
    expect(kindsOf({} as MlServiceInfo)).toEqual([]);
    expect(findKind(ML.kinds, "text-ngram-classifier")).toBe(TEXT_NGRAM);
  });

  it("offers as base models those of the kind's base kind, promoted first", () => {
    const model = (name: string, kind: string, promoted = false): Model => ({
      name,
      aliases: promoted ? { production: "v1" } : {},
      versions: [{ version: "v1", kind, size_bytes: 1, io_schema: {} as never, hyperparameters: {} as never }],
    });
    const models = [model("digits", "mlp-classifier"), model("bert", "text-encoder"), model("minilm", "text-encoder", true)];
    expect(baseCandidates(TEXT_CLASSIFIER, models).map((c) => c.ref)).toEqual(["minilm@production", "bert@v1"]);
    expect(baseCandidates(TEXT_NGRAM, models)).toEqual([]);
    expect(baseCandidates({ ...TEXT_CLASSIFIER, base_kind: null }, models)).toHaveLength(3);
  });
});

describe("job request", () => {
  const input = (over: Partial<JobFormInput> = {}): JobFormInput => ({
    modelName: " topics ",
    datasetId: "ds-1",
    kind: TEXT_NGRAM,
    baseModel: "minilm@production",
    hyperparameterFields: schemaFields(HYPERPARAMETERS),
    hyperparameters: {},
    parameterFields: schemaFields(TEXT_NGRAM.parameters),
    parameters: {},
    ...over,
  });

  it("leaves every blank knob to the server's defaults", () => {
    expect(jobRequest(input())).toEqual({ ok: true, value: { model_name: "topics", kind: "text-ngram-classifier", dataset_id: "ds-1" } });
  });

  it("sends the filled knobs as hyperparameters and the kind's settings as parameters", () => {
    const request = jobRequest(input({ hyperparameters: { epochs: "5", learning_rate: "0.05", seed: "" }, parameters: { buckets: "1024" } }));
    expect(request).toEqual({
      ok: true,
      value: {
        model_name: "topics",
        kind: "text-ngram-classifier",
        dataset_id: "ds-1",
        hyperparameters: { epochs: 5, learning_rate: 0.05 },
        parameters: { buckets: 1024 },
      },
    });
  });

  it("names the base model only for a kind that needs one", () => {
    const request = jobRequest(input({ kind: TEXT_CLASSIFIER, parameterFields: schemaFields(TEXT_CLASSIFIER.parameters), parameters: { mode: "full" } }));
    expect(request.ok && request.value).toMatchObject({ base_model: "minilm@production", parameters: { mode: "full" } });
    const none = jobRequest(input({ kind: TEXT_CLASSIFIER, baseModel: "" }));
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.errors.baseModel).toMatch(/import a text-encoder/);
  });

  it("reports the form's, the knobs' and the kind's bad fields at once", () => {
    const request = jobRequest(input({ modelName: "no spaces", kind: undefined, hyperparameters: { epochs: "0" }, parameters: { buckets: "1" } }));
    expect(request.ok).toBe(false);
    if (request.ok) return;
    expect(request.errors.modelName).toBeDefined();
    expect(request.errors.kind).toBe("Choose a model kind.");
    expect(request.errors.hyperparameters).toEqual({ epochs: "Epochs must be a whole number from 1 to 4294967295." });
    expect(request.errors.parameters).toEqual({ buckets: "Buckets must be a whole number from 16 to 1048576." });
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
