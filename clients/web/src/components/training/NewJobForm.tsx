"use client";

import type { Dataset, Model, ModelKindInfo } from "@strata/client";
import { useMemo, useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatCount } from "../../lib/format";
import { jobRequest, type JobFormErrors } from "../../lib/job-form";
import { baseCandidates, defaultKind, findKind, kindsOf, needsBase, trainableKinds } from "../../lib/model-kinds";
import { schemaFields, type FieldTexts, type JsonSchema } from "../../lib/schema-form";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { Field } from "../Field";
import { SchemaFields } from "../SchemaFields";

/** What the form is built from: the server's kinds and knobs, and what there is to train on. */
export interface JobFormData {
  kinds: ModelKindInfo[];
  /** JSON Schema of the shared training knobs (`ml.hyperparameters`). */
  hyperparameters: JsonSchema;
  datasets: Dataset[];
  models: Model[];
}

// Shown up front; every other shared knob the server lists goes under "More options".
const COMMON_KNOBS = new Set(["epochs", "batch_size", "learning_rate", "seed"]);

const NO_ERRORS: JobFormErrors = { hyperparameters: {}, parameters: {} };

export function NewJobForm({ datasetId }: { datasetId?: string | undefined }) {
  const options = useApi("new-job", async (client, signal): Promise<JobFormData> => {
    const [system, datasets, models] = await Promise.all([
      client.getSystemInfo({ signal }),
      client.listDatasets({ pageSize: 500, signal }),
      client.listModels({ pageSize: 500, signal }),
    ]);
    return { kinds: kindsOf(system.ml), hyperparameters: system.ml.hyperparameters, datasets: datasets.datasets, models: models.models };
  });
  const data = options.data;

  if (options.state.status === "loading") return <Loading label="Loading datasets and model kinds…" />;
  if (options.state.status === "error" && !data) return <ErrorPanel error={options.state.error} />;
  if (!data) return null;
  if (data.datasets.length === 0) {
    return (
      <Empty title="There is no dataset to train on yet.">
        <a href="/datasets">Upload a Parquet file</a> first.
      </Empty>
    );
  }
  return <JobForm data={data} datasetId={datasetId} />;
}

/** The form once its choices are known: preselects the linked (or newest) dataset and its kind. */
export function JobForm({ data, datasetId }: { data: JobFormData; datasetId?: string | undefined }) {
  const first = data.datasets.find((d) => d.id === datasetId) ?? data.datasets[0];
  const [dataset, setDataset] = useState(first?.id ?? "");
  const [kindName, setKindName] = useState(() => defaultKind(data.kinds, first)?.name ?? "");
  const [modelName, setModelName] = useState(first?.name ?? "");
  const [chosenBase, setChosenBase] = useState("");
  const [hpTexts, setHpTexts] = useState<FieldTexts>({});
  const [paramTexts, setParamTexts] = useState<FieldTexts>({});
  const [errors, setErrors] = useState<JobFormErrors>(NO_ERRORS);
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [busy, setBusy] = useState(false);

  const kinds = trainableKinds(data.kinds);
  const kind = findKind(kinds, kindName);
  const hpFields = useMemo(() => schemaFields(data.hyperparameters), [data.hyperparameters]);
  const paramFields = useMemo(() => schemaFields(kind?.parameters), [kind]);
  const bases = baseCandidates(kind, data.models);
  // Promoted models come first, so with nothing chosen the first candidate is the one to suggest.
  const baseModel = bases.some((c) => c.ref === chosenBase) ? chosenBase : (bases[0]?.ref ?? "");
  const selected = data.datasets.find((d) => d.id === dataset);

  // Parameters belong to one kind: another kind's leftovers would be refused by the server.
  const chooseKind = (name: string) => {
    if (name === kindName) return;
    setKindName(name);
    setParamTexts({});
    setErrors((e) => ({ ...e, kind: undefined, parameters: {} }));
  };

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    const request = jobRequest({
      modelName,
      datasetId: dataset,
      kind,
      baseModel,
      hyperparameterFields: hpFields,
      hyperparameters: hpTexts,
      parameterFields: paramFields,
      parameters: paramTexts,
    });
    setErrors(request.ok ? NO_ERRORS : request.errors);
    if (!request.ok) return;
    setBusy(true);
    try {
      const job = await apiClient().createTrainingJob(request.value);
      window.location.assign(`/training/${encodeURIComponent(job.id)}`);
    } catch (error) {
      setFailure(describeError(error));
      setBusy(false);
    }
  }

  const common = hpFields.filter((f) => COMMON_KNOBS.has(f.name));
  const more = hpFields.filter((f) => !COMMON_KNOBS.has(f.name));
  const setHp = (name: string, text: string) => setHpTexts((t) => ({ ...t, [name]: text }));
  const setParam = (name: string, text: string) => setParamTexts((t) => ({ ...t, [name]: text }));

  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="job-form-heading">
      <h2 id="job-form-heading" className="visually-hidden">
        Job settings
      </h2>
      <div className="form-grid">
        <Field id="job-dataset" label="Dataset" error={errors.dataset} hint={selected ? `${formatCount(selected.num_rows)} rows, ${selected.classes.length} classes` : undefined}>
          <select
            id="job-dataset"
            value={dataset}
            onChange={(e) => {
              setDataset(e.target.value);
              const suits = defaultKind(data.kinds, data.datasets.find((x) => x.id === e.target.value));
              if (suits) chooseKind(suits.name);
            }}
          >
            {data.datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.id})
              </option>
            ))}
          </select>
        </Field>
        <Field id="job-kind" label="Model kind" error={errors.kind} hint={kind?.description || undefined}>
          <select id="job-kind" value={kindName} onChange={(e) => chooseKind(e.target.value)}>
            {kinds.length === 0 ? <option value="">The ML service offers no trainable kind</option> : null}
            {kinds.map((k) => (
              <option key={k.name} value={k.name}>
                {k.title && k.title !== k.name ? `${k.title} (${k.name})` : k.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="job-model" label="Model name" error={errors.modelName} hint="The job adds a new version (v1, v2, …) to this model.">
          <input id="job-model" value={modelName} onChange={(e) => setModelName(e.target.value)} maxLength={128} />
        </Field>
        {needsBase(kind) ? (
          <Field
            id="job-base"
            label="Base model"
            error={errors.baseModel}
            hint={kind?.base_kind ? `The ${kind.base_kind} this kind starts from.` : "The model this kind starts from."}
          >
            <select id="job-base" value={baseModel} onChange={(e) => setChosenBase(e.target.value)}>
              {bases.length === 0 ? <option value="">{`No ${kind?.base_kind ?? "base"} model imported`}</option> : null}
              {bases.map((c) => (
                <option key={c.ref} value={c.ref}>
                  {c.ref}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
      </div>
      {kind && paramFields.length > 0 ? (
        <fieldset className="fieldset" data-testid="kind-parameters">
          <legend>{kind.title || kind.name} settings</legend>
          <div className="form-grid">
            <SchemaFields prefix="param" fields={paramFields} values={paramTexts} errors={errors.parameters} onChange={setParam} />
          </div>
        </fieldset>
      ) : null}
      {hpFields.length > 0 ? (
        <fieldset className="fieldset" data-testid="hyperparameters">
          <legend>Training</legend>
          <div className="form-grid">
            <SchemaFields prefix="hp" fields={common} values={hpTexts} errors={errors.hyperparameters} onChange={setHp} />
          </div>
          {more.length > 0 ? (
            // Open while one of its fields is in error, so the message is not hidden.
            <details className="advanced" open={more.some((f) => errors.hyperparameters[f.name]) || undefined}>
              <summary>More options</summary>
              <div className="form-grid">
                <SchemaFields prefix="hp" fields={more} values={hpTexts} errors={errors.hyperparameters} onChange={setHp} />
              </div>
            </details>
          ) : null}
        </fieldset>
      ) : null}
      {failure ? <ErrorPanel error={failure} compact /> : null}
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={busy || kinds.length === 0}>
          {busy ? "Starting…" : "Start training"}
        </button>
        <a className="button subtle" href="/training">
          Cancel
        </a>
      </div>
    </form>
  );
}
