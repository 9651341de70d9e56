/**
 * The new-job form's request: the form's own fields checked here, the shared training knobs and
 * the kind's parameters checked against the schemas the server sent (lib/schema-form.ts). Blank
 * knobs and parameters are left out, so a job from the web app gets the same defaults as one from
 * the CLI or a bare REST call.
 */
import type { CreateTrainingJob, ModelKindInfo } from "@strata/client";
import { isValidName, NAME_RULE } from "./datasets";
import { needsBase } from "./model-kinds";
import { buildObject, type FieldErrors, type FieldTexts, type SchemaField } from "./schema-form";

export interface JobFormInput {
  modelName: string;
  datasetId: string;
  kind: ModelKindInfo | undefined;
  /** The chosen base model reference; only sent when the kind needs one. */
  baseModel: string;
  hyperparameterFields: SchemaField[];
  hyperparameters: FieldTexts;
  parameterFields: SchemaField[];
  parameters: FieldTexts;
}

export interface JobFormErrors {
  modelName?: string;
  dataset?: string;
  kind?: string;
  baseModel?: string;
  hyperparameters: FieldErrors;
  parameters: FieldErrors;
}

export type JobRequest = { ok: true; value: CreateTrainingJob } | { ok: false; errors: JobFormErrors };

export function jobRequest(input: JobFormInput): JobRequest {
  const hp = buildObject(input.hyperparameterFields, input.hyperparameters);
  const params = buildObject(input.parameterFields, input.parameters);
  const errors: JobFormErrors = { hyperparameters: hp.ok ? {} : hp.errors, parameters: params.ok ? {} : params.errors };
  const modelName = input.modelName.trim();
  const { kind } = input;
  if (!isValidName(modelName)) errors.modelName = NAME_RULE;
  if (!input.datasetId) errors.dataset = "Choose a dataset.";
  if (!kind) errors.kind = "Choose a model kind.";
  if (needsBase(kind) && !input.baseModel) {
    errors.baseModel = `Choose the model to start from${kind?.base_kind ? ` (import a ${kind.base_kind} first if there is none)` : ""}.`;
  }
  if (!hp.ok || !params.ok || !kind || errors.modelName || errors.dataset || errors.baseModel) return { ok: false, errors };
  return {
    ok: true,
    value: {
      model_name: modelName,
      kind: kind.name,
      dataset_id: input.datasetId,
      // Typed by the schema the server sent, which is what the server checks it against.
      ...(Object.keys(hp.value).length > 0 ? { hyperparameters: hp.value as CreateTrainingJob["hyperparameters"] } : {}),
      ...(Object.keys(params.value).length > 0 ? { parameters: params.value } : {}),
      ...(needsBase(kind) ? { base_model: input.baseModel } : {}),
    },
  };
}
