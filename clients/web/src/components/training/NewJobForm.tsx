"use client";

import { useEffect, useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { isValidName, NAME_RULE } from "../../lib/datasets";
import { describeError, type ErrorView } from "../../lib/errors";
import { DEFAULT_FIELDS, fieldsFor, parseHyperparameters, type FieldErrors, type HyperparameterFields } from "../../lib/hyperparameters";
import { defaultKind, kindInfo, trainableKinds } from "../../lib/kinds";
import { candidates, embedsText } from "../../lib/models";
import { formatCount } from "../../lib/format";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { Field } from "../Field";

export function NewJobForm({ datasetId }: { datasetId?: string | undefined }) {
  const options = useApi("new-job", async (client, signal) => {
    const [system, datasets, models] = await Promise.all([
      client.getSystemInfo({ signal }),
      client.listDatasets({ pageSize: 500, signal }),
      client.listModels({ pageSize: 500, signal }),
    ]);
    return { kinds: system.ml.model_kinds, datasets: datasets.datasets, encoders: candidates(models.models, embedsText) };
  });
  const [dataset, setDataset] = useState(datasetId ?? "");
  const [kind, setKind] = useState("");
  const [modelName, setModelName] = useState("");
  const [baseModel, setBaseModel] = useState("");
  const [hp, setHp] = useState<HyperparameterFields>(DEFAULT_FIELDS);
  const [errors, setErrors] = useState<FieldErrors & { modelName?: string; dataset?: string; kind?: string; baseModel?: string }>({});
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [busy, setBusy] = useState(false);
  const data = options.data;

  // Once the choices arrive, preselect what fits: the linked (or newest) dataset, its kind, a name.
  useEffect(() => {
    if (!data) return;
    const chosen = data.datasets.find((d) => d.id === dataset) ?? data.datasets[0];
    if (!chosen) return;
    setDataset((current) => current || chosen.id);
    setKind((current) => current || defaultKind(data.kinds, chosen) || "");
    setModelName((current) => current || chosen.name);
    setBaseModel((current) => current || data.encoders[0]?.ref || "");
  }, [data]);

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
  const kinds = trainableKinds(data.kinds);
  const info = kindInfo(kind);
  const used = fieldsFor(kind);
  const selected = data.datasets.find((d) => d.id === dataset);
  const setField = (key: keyof HyperparameterFields) => (value: string) => setHp((f) => ({ ...f, [key]: value }));

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    const parsed = parseHyperparameters(kind, hp);
    const next: typeof errors = parsed.ok ? {} : { ...parsed.errors };
    if (!isValidName(modelName.trim())) next.modelName = NAME_RULE;
    if (!dataset) next.dataset = "Choose a dataset.";
    if (!kind) next.kind = "Choose a model kind.";
    if (info.needsBase && !baseModel) next.baseModel = "Choose the text encoder to fine-tune (import one first).";
    setErrors(next);
    if (!parsed.ok || Object.keys(next).length > 0) return;
    setBusy(true);
    try {
      const job = await apiClient().createTrainingJob({
        model_name: modelName.trim(),
        kind,
        dataset_id: dataset,
        hyperparameters: parsed.value,
        ...(info.needsBase ? { base_model: baseModel } : {}),
      });
      window.location.assign(`/training/${encodeURIComponent(job.id)}`);
    } catch (error) {
      setFailure(describeError(error));
      setBusy(false);
    }
  }

  const number = (key: keyof HyperparameterFields, label: string, hint: string, step = "any") =>
    used.has(key) ? (
      <Field id={`hp-${key}`} label={label} hint={hint} error={errors[key]} optional>
        <input id={`hp-${key}`} inputMode="decimal" step={step} value={hp[key] as string} onChange={(e) => setField(key)(e.target.value)} />
      </Field>
    ) : null;

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
              const d = data.datasets.find((x) => x.id === e.target.value);
              if (d) setKind(defaultKind(data.kinds, d) ?? kind);
            }}
          >
            {data.datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({d.id})
              </option>
            ))}
          </select>
        </Field>
        <Field id="job-kind" label="Model kind" error={errors.kind} hint={info.description}>
          <select id="job-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {kindInfo(k).label} ({k})
              </option>
            ))}
          </select>
        </Field>
        <Field id="job-model" label="Model name" error={errors.modelName} hint="The job adds a new version (v1, v2, …) to this model.">
          <input id="job-model" value={modelName} onChange={(e) => setModelName(e.target.value)} maxLength={128} />
        </Field>
        {info.needsBase ? (
          <Field id="job-base" label="Base model" error={errors.baseModel} hint="The text encoder to fine-tune.">
            <select id="job-base" value={baseModel} onChange={(e) => setBaseModel(e.target.value)}>
              {data.encoders.length === 0 ? <option value="">No text encoder imported</option> : null}
              {data.encoders.map((c) => (
                <option key={c.ref} value={c.ref}>
                  {c.ref}
                </option>
              ))}
            </select>
          </Field>
        ) : null}
      </div>
      <fieldset className="fieldset">
        <legend>Hyperparameters</legend>
        <div className="form-grid">
          {number("epochs", "Epochs", "Passes over the training split.", "1")}
          {number("batchSize", "Batch size", "Rows per optimiser step.", "1")}
          {number("learningRate", "Learning rate", "AdamW step size.")}
          {used.has("hiddenLayers") ? (
            <Field id="hp-hiddenLayers" label="Hidden layers" hint="Widths, comma-separated (e.g. 128, 64)." error={errors.hiddenLayers} optional>
              <input id="hp-hiddenLayers" value={hp.hiddenLayers} onChange={(e) => setField("hiddenLayers")(e.target.value)} />
            </Field>
          ) : null}
          {number("seed", "Seed", "Equal seeds give equal metrics.", "1")}
        </div>
        <details className="advanced">
          <summary>More options</summary>
          <div className="form-grid">
            {number("validationFraction", "Validation fraction", "Share of rows held out per epoch (default 0.1).")}
            {number("testFraction", "Test fraction", "Share of rows for the final metrics (default 0.1).")}
            {number("earlyStoppingPatience", "Early-stopping patience", "Stop after this many epochs without a better validation loss.", "1")}
            {number("weightDecay", "Weight decay", "AdamW decoupled weight decay.")}
            {number("encoderLearningRate", "Encoder learning rate", "For full fine-tuning; usually smaller.")}
            {used.has("fullFineTune") ? (
              <div className="field checkbox">
                <input id="hp-fullFineTune" type="checkbox" checked={hp.fullFineTune} onChange={(e) => setHp((f) => ({ ...f, fullFineTune: e.target.checked }))} />
                <label htmlFor="hp-fullFineTune">Fine-tune the whole encoder, not only the head</label>
              </div>
            ) : null}
          </div>
        </details>
      </fieldset>
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
