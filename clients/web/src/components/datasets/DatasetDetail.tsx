"use client";

import type { Dataset } from "@strata/client";
import { useState } from "react";
import { apiClient } from "../../lib/api";
import { classBalance, columnRole, featureCount } from "../../lib/datasets";
import { describeError, type ErrorView } from "../../lib/errors";
import { formatBytes, formatCount, formatNumber, formatTime } from "../../lib/format";
import { useApi } from "../../lib/use-api";
import { BarList } from "../BarList";
import { ErrorPanel, Loading } from "../ErrorPanel";
import { Pill } from "../Pill";
import { Fact } from "../Fact";

export function DatasetDetail({ id }: { id: string }) {
  const dataset = useApi(`dataset:${id}`, (client, signal) => client.getDataset(id, { signal }));
  const d = dataset.data;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <a href="/datasets">Datasets</a> / <span aria-current="page">{d?.name ?? id}</span>
      </nav>
      <h1>{d?.name ?? "Dataset"}</h1>
      {d?.description ? <p className="lead">{d.description}</p> : <p className="lead muted">Schema and statistics as the ML service computed them at upload.</p>}
      {dataset.state.status === "error" ? <ErrorPanel error={dataset.state.error} /> : null}
      {dataset.state.status === "loading" ? <Loading label="Loading the dataset…" /> : null}
      {d ? <DatasetView dataset={d} /> : null}
    </>
  );
}

export function DatasetView({ dataset: d }: { dataset: Dataset }) {
  const balance = classBalance(d);
  return (
    <>
      <section className="card" aria-labelledby="summary-heading">
        <header className="card-header">
          <h2 id="summary-heading">Summary</h2>
          <a className="button primary" href={`/training/new?dataset=${encodeURIComponent(d.id)}`}>
            Train a model on it
          </a>
        </header>
        <dl className="facts">
          <Fact label="Rows" value={formatCount(d.num_rows)} testId="dataset-rows" />
          <Fact label="Columns" value={String(d.columns.length)} testId="dataset-columns" />
          <Fact label="Features" value={d.schema.text_column ? `text: ${d.schema.text_column}` : String(featureCount(d))} testId="dataset-features" />
          <Fact label="Label" value={d.schema.label_column || "none"} testId="dataset-label" />
          <Fact label="Classes" value={String(d.classes.length)} testId="dataset-classes" />
          <Fact label="Size" value={formatBytes(d.size_bytes)} />
          <Fact label="Uploaded" value={formatTime(d.created_at)} />
          <div className="fact wide">
            <dt>sha256</dt>
            <dd className="mono small" title={d.sha256}>
              {d.sha256}
            </dd>
          </div>
          <div className="fact wide">
            <dt>Id</dt>
            <dd className="mono small">{d.id}</dd>
          </div>
        </dl>
      </section>
      <div className="columns">
        {balance.length > 0 ? (
          <section className="card" aria-labelledby="balance-heading">
            <header className="card-header">
              <h2 id="balance-heading">Class balance</h2>
            </header>
            <BarList items={balance} format={formatCount} label="Rows per class" testId="class-balance" />
          </section>
        ) : null}
        <DeleteDataset dataset={d} />
      </div>
      <section className="card" aria-labelledby="columns-heading">
        <header className="card-header">
          <h2 id="columns-heading">Columns</h2>
          <span className="muted">Statistics cover every row of each feature column.</span>
        </header>
        <div className="table-wrap">
          <table className="table dense" data-testid="columns-table">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Role</th>
                <th scope="col" className="num">
                  Min
                </th>
                <th scope="col" className="num">
                  Max
                </th>
                <th scope="col" className="num">
                  Mean
                </th>
                <th scope="col" className="num">
                  Std dev
                </th>
              </tr>
            </thead>
            <tbody>
              {d.columns.map((c) => {
                const role = columnRole(d, c);
                return (
                  <tr key={c.name}>
                    <th scope="row" className="mono">
                      {c.name}
                    </th>
                    <td className="mono">
                      {c.data_type}
                      {c.nullable ? <span className="muted"> · nullable</span> : null}
                    </td>
                    <td>
                      <Pill tone={role === "label" ? "info" : role === "feature" ? "ok" : "neutral"}>{role}</Pill>
                    </td>
                    <td className="num">{formatNumber(c.stats?.min)}</td>
                    <td className="num">{formatNumber(c.stats?.max)}</td>
                    <td className="num">{formatNumber(c.stats?.mean)}</td>
                    <td className="num">{formatNumber(c.stats?.stddev)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function DeleteDataset({ dataset }: { dataset: Dataset }) {
  const [failure, setFailure] = useState<ErrorView | undefined>();
  const [busy, setBusy] = useState(false);
  async function remove() {
    if (!window.confirm(`Delete dataset ${dataset.name}? Models trained on it keep working.`)) return;
    setBusy(true);
    setFailure(undefined);
    try {
      await apiClient().deleteDataset(dataset.id);
      window.location.assign("/datasets");
    } catch (error) {
      setFailure(describeError(error));
      setBusy(false);
    }
  }
  return (
    <section className="card" aria-labelledby="danger-heading">
      <header className="card-header">
        <h2 id="danger-heading">Delete</h2>
      </header>
      <p className="muted">Removes the file and its metadata (admins only). Model versions trained on it are kept.</p>
      {failure ? <ErrorPanel error={failure} compact /> : null}
      <button type="button" className="button danger" onClick={() => void remove()} disabled={busy}>
        {busy ? "Deleting…" : "Delete dataset"}
      </button>
    </section>
  );
}
