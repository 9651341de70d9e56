"use client";

import type { Model } from "@strata/client";
import { LIST_PAGE_SIZE } from "../../lib/config";
import { formatPercent, formatTime } from "../../lib/format";
import { latestVersion } from "../../lib/models";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { Pill } from "../Pill";

export function ModelsPanel() {
  const models = useApi("models", (client, signal) => client.listModels({ pageSize: LIST_PAGE_SIZE, signal }));
  const list = models.data;
  return (
    <section className="card" aria-labelledby="models-heading" aria-busy={models.state.status === "loading"}>
      <header className="card-header">
        <h2 id="models-heading">Registry</h2>
        <button type="button" className="button" onClick={models.reload} disabled={models.refreshing}>
          {models.refreshing ? "Refreshing…" : "Refresh"}
        </button>
      </header>
      {models.state.status === "error" ? <ErrorPanel error={models.state.error} /> : null}
      {models.state.status === "loading" ? <Loading label="Loading models…" /> : null}
      {list && list.models.length === 0 ? (
        <Empty title="No models yet.">
          <a href="/training/new">Train one</a>, or import a Hugging Face encoder with <code>strata import-hf</code>.
        </Empty>
      ) : null}
      {list && list.models.length > 0 ? <ModelTable models={list.models} /> : null}
    </section>
  );
}

export function ModelTable({ models }: { models: Model[] }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="models-table">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Kind</th>
            <th scope="col" className="num">
              Versions
            </th>
            <th scope="col">Aliases</th>
            <th scope="col" className="num">
              Latest test accuracy
            </th>
            <th scope="col">Latest version</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => {
            const latest = latestVersion(m);
            return (
              <tr key={m.name}>
                <th scope="row">
                  <a href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
                </th>
                <td>{latest?.kind ?? "–"}</td>
                <td className="num">{m.versions.length}</td>
                <td>
                  {Object.keys(m.aliases).length === 0 ? <span className="muted">none</span> : null}
                  {Object.entries(m.aliases)
                    .sort(([a], [b]) => a.localeCompare(b))
                    .map(([alias, version]) => (
                      <Pill key={alias} tone="ok">
                        {alias} → {version}
                      </Pill>
                    ))}
                </td>
                <td className="num">{formatPercent(latest?.test_metrics?.accuracy)}</td>
                <td>
                  {latest ? (
                    <>
                      {latest.version} <span className="muted small">{formatTime(latest.created_at)}</span>
                    </>
                  ) : (
                    "–"
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
