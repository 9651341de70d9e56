/**
 * Model kinds as the server describes them (`GET /v1/system`, `ml.kinds`): which can be trained,
 * which suits a dataset, and which models can serve as a kind's base. Nothing here knows a kind
 * by name, so a kind added to the ML core shows up in the app as it is.
 */
import type { Dataset, MlServiceInfo, Model, ModelKindInfo } from "@strata/client";
import { candidates, type Candidate } from "./models";

/** The kinds the server describes; none from a server that predates the descriptions. */
export function kindsOf(ml: Pick<MlServiceInfo, "kinds">): ModelKindInfo[] {
  return Array.isArray(ml.kinds) ? ml.kinds : [];
}

export function findKind(kinds: ModelKindInfo[], name: string): ModelKindInfo | undefined {
  return kinds.find((k) => k.name === name);
}

/** The kinds offered for a new job, in the server's order; import-only kinds are not. */
export function trainableKinds(kinds: ModelKindInfo[]): ModelKindInfo[] {
  return kinds.filter((k) => k.trainable);
}

/** What a dataset gives a model: its text column, or its feature columns. */
export function datasetInput(dataset: { schema: Pick<Dataset["schema"], "text_column"> }): "text" | "features" {
  return dataset.schema.text_column ? "text" : "features";
}

/** The kind that suits a dataset: the first trainable one that reads what it has. */
export function defaultKind(kinds: ModelKindInfo[], dataset: { schema: Pick<Dataset["schema"], "text_column"> } | undefined): ModelKindInfo | undefined {
  const offered = trainableKinds(kinds);
  const wants = dataset ? datasetInput(dataset) : undefined;
  return offered.find((k) => k.input === wants) ?? offered[0];
}

export const needsBase = (kind: ModelKindInfo | undefined): boolean => kind?.base_model === "required";

/** The models a kind can start from: those whose serving version is of its `base_kind`. */
export function baseCandidates(kind: ModelKindInfo | undefined, models: Model[]): Candidate[] {
  if (!needsBase(kind)) return [];
  const wanted = kind?.base_kind;
  return candidates(models, () => true).filter((c) => !wanted || c.version.kind === wanted);
}
