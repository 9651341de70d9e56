/**
 * The training form's fields as typed, and their conversion to the API's `Hyperparameters`.
 * Empty fields are left out so the model kind's defaults apply; bad ones are reported per field
 * before anything is sent.
 */
import type { Hyperparameters } from "@strata/client";

export interface HyperparameterFields {
  epochs: string;
  batchSize: string;
  learningRate: string;
  hiddenLayers: string;
  seed: string;
  validationFraction: string;
  testFraction: string;
  earlyStoppingPatience: string;
  weightDecay: string;
  fullFineTune: boolean;
  encoderLearningRate: string;
}

export const DEFAULT_FIELDS: HyperparameterFields = {
  epochs: "10",
  batchSize: "32",
  learningRate: "0.005",
  hiddenLayers: "64",
  seed: "7",
  validationFraction: "",
  testFraction: "",
  earlyStoppingPatience: "",
  weightDecay: "",
  fullFineTune: false,
  encoderLearningRate: "",
};

export type FieldErrors = Partial<Record<keyof HyperparameterFields, string>>;

export type Parsed = { ok: true; value: Hyperparameters } | { ok: false; errors: FieldErrors };

function integer(text: string, min: number, max: number): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (!/^\d+$/.test(t)) return "a whole number";
  const n = Number(t);
  return n < min || n > max ? `between ${min} and ${max}` : n;
}

function decimal(text: string, min: number, max: number, inclusiveMin = true): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) return "a number";
  const low = inclusiveMin ? n < min : n <= min;
  return low || n > max ? `${inclusiveMin ? "from" : "above"} ${min} up to ${max}` : n;
}

/** Which fields a kind uses; others are hidden and never sent. */
export function fieldsFor(kind: string): Set<keyof HyperparameterFields> {
  const common: (keyof HyperparameterFields)[] = [
    "epochs",
    "batchSize",
    "learningRate",
    "seed",
    "validationFraction",
    "testFraction",
    "earlyStoppingPatience",
    "weightDecay",
  ];
  if (kind === "mlp-classifier") return new Set([...common, "hiddenLayers"]);
  if (kind === "text-classifier") return new Set([...common, "fullFineTune", "encoderLearningRate"]);
  return new Set(common);
}

export function parseHyperparameters(kind: string, fields: HyperparameterFields): Parsed {
  const used = fieldsFor(kind);
  const errors: FieldErrors = {};
  const value: Hyperparameters = {};
  const take = <K extends keyof Hyperparameters>(
    field: keyof HyperparameterFields,
    key: K,
    parsed: number | string | undefined,
    what: string,
  ) => {
    if (!used.has(field)) return;
    if (typeof parsed === "string") errors[field] = `${what} must be ${parsed}.`;
    else if (parsed !== undefined) value[key] = parsed as Hyperparameters[K];
  };
  take("epochs", "epochs", integer(fields.epochs, 1, 10_000), "Epochs");
  take("batchSize", "batch_size", integer(fields.batchSize, 1, 65_536), "Batch size");
  take("learningRate", "learning_rate", decimal(fields.learningRate, 0, 10, false), "Learning rate");
  take("seed", "seed", integer(fields.seed, 0, Number.MAX_SAFE_INTEGER), "Seed");
  take("validationFraction", "validation_fraction", decimal(fields.validationFraction, 0, 0.9, false), "Validation fraction");
  take("testFraction", "test_fraction", decimal(fields.testFraction, 0, 0.9, false), "Test fraction");
  take("earlyStoppingPatience", "early_stopping_patience", integer(fields.earlyStoppingPatience, 1, 10_000), "Early-stopping patience");
  take("weightDecay", "weight_decay", decimal(fields.weightDecay, 0, 1), "Weight decay");
  take("encoderLearningRate", "encoder_learning_rate", decimal(fields.encoderLearningRate, 0, 10, false), "Encoder learning rate");

  if (used.has("hiddenLayers") && fields.hiddenLayers.trim() !== "") {
    const parts = fields.hiddenLayers.split(",").map((p) => p.trim());
    const widths = parts.map((p) => integer(p, 1, 65_536));
    if (widths.some((w) => typeof w !== "number")) {
      errors.hiddenLayers = "Hidden layers must be widths from 1 to 65536, separated by commas (e.g. 128, 64).";
    } else {
      value.hidden_layers = widths as number[];
    }
  }
  if (used.has("fullFineTune") && fields.fullFineTune) value.full_fine_tune = true;

  const v = value.validation_fraction ?? 0;
  const t = value.test_fraction ?? 0;
  if (v + t >= 1) errors.testFraction = "Validation and test fractions together must leave rows to train on.";

  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value };
}
