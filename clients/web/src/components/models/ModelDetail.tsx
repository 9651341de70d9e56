"use client";

import type { Model, ModelKindInfo, ModelVersion } from "@strata/client";
import { useState, type FormEvent } from "react";
import { apiClient } from "../../lib/api";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatBytes, formatCount, formatNumber, formatPercent, formatTime } from "../../lib/format";
import { findKind, kindsOf } from "../../lib/model-kinds";
import { aliasesOf, aliasProblem, classNames, embedsText, ioSchema, readsDigits } from "../../lib/models";
import { useApi } from "../../lib/use-api";
import { ErrorPanel, Loading } from "../ErrorPanel";
import { Fact } from "../Fact";
import { Field } from "../Field";
import { HeatMap } from "../HeatMap";
import { Pill } from "../Pill";

export function ModelDetail({ name, initialVersion }: { name: string; initialVersion?: string | undefined }) {
  const model = useApi(`model:${name}`, (client, signal) => client.getModel(name, { signal }));
  // Only for the kinds' titles: without it the table shows their names, so a failure is not shown.
  const system = useApi("system", (client, signal) => client.getSystemInfo({ signal }));
  const kinds = system.data ? kindsOf(system.data.ml) : [];
  const [selected, setSelected] = useState<string | undefined>(initialVersion);
  const m = model.data;
  const version = m ? (m.versions.find((v) => v.version === selected) ?? m.versions.at(-1)) : undefined;

  const select = (v: string) => {
    setSelected(v);
    // Keep the choice in the URL so a reload or a shared link shows the same version.
    window.history.replaceState(null, "", `?version=${encodeURIComponent(v)}`);
  };

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <a href="/models">Models</a> / <span aria-current="page">{name}</span>
      </nav>
      <h1>{name}</h1>
      <p className="lead">
        {m ? `${m.versions.length} version${m.versions.length === 1 ? "" : "s"}` : "Versions, metrics and aliases"}
        {m && Object.keys(m.aliases).length > 0
          ? ` · ${Object.entries(m.aliases)
              .map(([a, v]) => `${a} → ${v}`)
              .join(", ")}`
          : ""}
      </p>
      {model.state.status === "error" ? <ErrorPanel error={model.state.error} /> : null}
      {model.state.status === "loading" ? <Loading label="Loading the model…" /> : null}
      {m ? (
        <>
          <VersionsTable model={m} kinds={kinds} selected={version?.version} onSelect={select} />
          <div className="columns wide-left">
            {version ? <VersionCard model={m} version={version} /> : null}
            <div className="stack">
              <PromoteForm model={m} defaultVersion={version?.version} onPromoted={model.set} />
              {version ? <DeleteVersion model={m} version={version.version} onDeleted={model.reload} /> : null}
            </div>
          </div>
        </>
      ) : null}
    </>
  );
}

function VersionsTable({
  model,
  kinds,
  selected,
  onSelect,
}: {
  model: Model;
  kinds: ModelKindInfo[];
  selected: string | undefined;
  onSelect: (v: string) => void;
}) {
  return (
    <section className="card" aria-labelledby="versions-heading">
      <header className="card-header">
        <h2 id="versions-heading">Versions</h2>
      </header>
      <div className="table-wrap">
        <table className="table" data-testid="versions-table">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">
                Test accuracy
              </th>
              <th scope="col" className="num">
                Macro-F1
              </th>
              <th scope="col" className="num">
                Test loss
              </th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Aliases</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {[...model.versions].reverse().map((v) => (
              <tr key={v.version} className={v.version === selected ? "selected" : undefined} aria-selected={v.version === selected}>
                <th scope="row">
                  <button type="button" className="linklike" onClick={() => onSelect(v.version)} aria-pressed={v.version === selected}>
                    {v.version}
                  </button>
                </th>
                <td>
                  <KindName kind={findKind(kinds, v.kind)} name={v.kind} />
                </td>
                <td className="num">{formatPercent(v.test_metrics?.accuracy)}</td>
                <td className="num">{formatPercent(v.test_metrics?.macro_f1)}</td>
                <td className="num">{formatNumber(v.test_metrics?.loss)}</td>
                <td className="num">{formatBytes(v.size_bytes)}</td>
                <td>
                  {aliasesOf(model, v.version).map((a) => (
                    <Pill key={a} tone="ok">
                      {a}
                    </Pill>
                  ))}
                </td>
                <td>{formatTime(v.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function VersionCard({ model, version }: { model: Model; version: ModelVersion }) {
  const schema = ioSchema(version);
  const metrics = version.test_metrics;
  const matrix = metrics?.confusion_matrix ?? [];
  const labels = classNames(version, matrix.length);
  const tryRef = `${model.name}@${aliasesOf(model, version.version)[0] ?? version.version}`;
  const hp = Object.entries(version.hyperparameters as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  return (
    <section className="card" aria-labelledby="version-heading" data-testid="version-card">
      <header className="card-header">
        <h2 id="version-heading">
          {model.name}@{version.version}
        </h2>
        {readsDigits(schema) ? (
          <a className="button" href={`/playground/digits?model=${encodeURIComponent(tryRef)}`}>
            Try it
          </a>
        ) : null}
        {embedsText(schema) ? (
          <a className="button" href={`/playground/embeddings?model=${encodeURIComponent(tryRef)}`}>
            Try it
          </a>
        ) : null}
      </header>
      <dl className="facts">
        <Fact label="Input" value={describeInput(schema.input)} />
        <Fact label="Output" value={describeOutput(schema.output)} />
        {metrics ? (
          <>
            <Fact label="Test accuracy" value={formatPercent(metrics.accuracy)} testId="version-accuracy" />
            <Fact label="Macro-F1" value={formatPercent(metrics.macro_f1)} />
            <Fact label="Test loss" value={formatNumber(metrics.loss)} />
          </>
        ) : null}
        {version.training_job_id ? (
          <Fact
            label="Training job"
            value={
              <a className="mono small" href={`/training/${encodeURIComponent(version.training_job_id)}`}>
                {version.training_job_id}
              </a>
            }
          />
        ) : null}
        {version.base_model ? <Fact label="Base model" value={version.base_model} /> : null}
        {version.dataset_sha256 ? <Fact label="Dataset sha256" value={<span className="mono small">{version.dataset_sha256.slice(0, 16)}…</span>} /> : null}
      </dl>
      {matrix.length > 0 ? (
        <HeatMap
          caption={`Confusion matrix on the test split (${formatCount(matrix.flat().reduce((a, b) => a + b, 0))} rows); shade = share of the true class`}
          rowLabels={labels}
          colLabels={labels}
          values={matrix}
          rowTitle="True"
          colTitle="Predicted"
          scale="row"
          testId="confusion-matrix"
        />
      ) : (
        <p className="muted">{metrics ? "No confusion matrix for this version." : "This version has no test metrics (imported models are not evaluated)."}</p>
      )}
      {hp.length > 0 ? (
        <details className="advanced">
          <summary>Hyperparameters</summary>
          <dl className="facts compact">
            {hp.map(([k, v]) => (
              <Fact key={k} label={k} value={typeof v === "object" ? JSON.stringify(v) : String(v)} />
            ))}
          </dl>
        </details>
      ) : null}
    </section>
  );
}

/** A kind by its title, with the name it is known by in the API and the CLI. */
function KindName({ kind, name }: { kind: ModelKindInfo | undefined; name: string }) {
  if (!kind?.title || kind.title === name) return <>{name}</>;
  return (
    <span title={kind.description || undefined}>
      {kind.title} <span className="mono small muted">{name}</span>
    </span>
  );
}

function describeInput(input: ReturnType<typeof ioSchema>["input"]): string {
  if (input.type === "features") return `${input.dim} features`;
  if (input.type === "text") return `text, up to ${input.maxTokens} tokens`;
  if (input.type === "prompt") return `${input.chatTemplate ? "chat or prompt" : "prompt"}, ${input.contextTokens}-token context`;
  return "unknown";
}

function describeOutput(output: ReturnType<typeof ioSchema>["output"]): string {
  if (output.type === "classes") return `${output.classes.length} classes`;
  if (output.type === "embedding") return `${output.dim}-dim embedding`;
  if (output.type === "text") return "generated text";
  return "unknown";
}

function PromoteForm({ model, defaultVersion, onPromoted }: { model: Model; defaultVersion: string | undefined; onPromoted: (m: Model) => void }) {
  const [alias, setAlias] = useState("production");
  const [version, setVersion] = useState(defaultVersion ?? model.versions.at(-1)?.version ?? "");
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [aliasError, setAliasError] = useState<string | undefined>();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(undefined);
    setDone(undefined);
    const problem = aliasProblem(alias.trim());
    setAliasError(problem);
    if (problem) return;
    setBusy(true);
    try {
      const updated = await apiClient().setModelAlias(model.name, alias.trim(), version);
      onPromoted(updated);
      setDone(`${model.name}@${alias.trim()} now points at ${version}.`);
    } catch (error) {
      setFailure(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-labelledby="promote-heading">
      <header className="card-header">
        <h2 id="promote-heading">Promote</h2>
      </header>
      <form className="form" onSubmit={submit} noValidate>
        <Field id="promote-alias" label="Alias" hint="Callers use name@alias; moving it switches them over at once." error={aliasError}>
          <input id="promote-alias" value={alias} onChange={(e) => setAlias(e.target.value)} />
        </Field>
        <Field id="promote-version" label="Version">
          <select id="promote-version" value={version} onChange={(e) => setVersion(e.target.value)}>
            {[...model.versions].reverse().map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
                {v.test_metrics ? ` (accuracy ${formatPercent(v.test_metrics.accuracy)})` : ""}
              </option>
            ))}
          </select>
        </Field>
        {failure ? <ErrorPanel error={failure} compact /> : null}
        {done ? (
          <p className="success" role="status">
            {done}
          </p>
        ) : null}
        <button type="submit" className="button primary" disabled={busy || !version}>
          {busy ? "Promoting…" : "Promote"}
        </button>
      </form>
    </section>
  );
}

function DeleteVersion({ model, version, onDeleted }: { model: Model; version: string; onDeleted: () => void }) {
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [busy, setBusy] = useState(false);
  async function remove() {
    if (!window.confirm(`Delete ${model.name}@${version}? This cannot be undone.`)) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await apiClient().deleteModelVersion(model.name, version);
      if (model.versions.length === 1) window.location.assign("/models");
      else onDeleted();
    } catch (error) {
      setFailure(describeError(error));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="card" aria-labelledby="delete-version-heading">
      <header className="card-header">
        <h2 id="delete-version-heading">Delete version</h2>
      </header>
      <p className="muted small">Admins only. A version an alias points at cannot be deleted; move the alias first.</p>
      {failure ? <ErrorPanel error={failure} compact /> : null}
      <button type="button" className="button danger" onClick={() => void remove()} disabled={busy}>
        {busy ? "Deleting…" : `Delete ${version}`}
      </button>
    </section>
  );
}
