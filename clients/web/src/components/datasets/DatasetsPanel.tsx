"use client";

import type { Dataset } from "@strata/client";
import { LIST_PAGE_SIZE } from "../../lib/config";
import { formatBytes, formatCount, formatTime } from "../../lib/format";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { UploadForm } from "./UploadForm";

export function DatasetsPanel() {
  const datasets = useApi("datasets", (client, signal) => client.listDatasets({ pageSize: LIST_PAGE_SIZE, signal }));
  const list = datasets.data;

  return (
    <div className="columns">
      <section className="card" aria-labelledby="datasets-heading">
        <header className="card-header">
          <h2 id="datasets-heading">Stored datasets</h2>
          <button type="button" className="button" onClick={datasets.reload} disabled={datasets.refreshing}>
            {datasets.refreshing ? "Refreshing…" : "Refresh"}
          </button>
        </header>
        {datasets.state.status === "error" ? <ErrorPanel error={datasets.state.error} /> : null}
        {datasets.state.status === "loading" ? <Loading label="Loading datasets…" /> : null}
        {list && list.datasets.length === 0 ? (
          <Empty title="No datasets yet.">Upload a Parquet file with the form; the digits sample is libs/strata-data/samples/digits.parquet.</Empty>
        ) : null}
        {list && list.datasets.length > 0 ? <DatasetTable datasets={list.datasets} /> : null}
        {list?.next_page_token ? <p className="muted">Showing the newest {list.datasets.length}.</p> : null}
      </section>
      <UploadForm
        onUploaded={(dataset) =>
          datasets.set({ datasets: [dataset, ...(list?.datasets ?? []).filter((d) => d.id !== dataset.id)], next_page_token: list?.next_page_token ?? null })
        }
      />
    </div>
  );
}

export function DatasetTable({ datasets }: { datasets: Dataset[] }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="datasets-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Columns
            </th>
            <th scope="col" className="num">
              Classes
            </th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col">Uploaded</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.id}>
              <th scope="row">
                <a href={`/datasets/${encodeURIComponent(d.id)}`}>{d.name}</a>
                {d.description ? <div className="muted small">{d.description}</div> : null}
              </th>
              <td className="num">{formatCount(d.num_rows)}</td>
              <td className="num">{d.columns.length}</td>
              <td className="num">{d.classes.length || "–"}</td>
              <td className="num">{formatBytes(d.size_bytes)}</td>
              <td>{formatTime(d.created_at)}</td>
              <td>
                <a className="button small" href={`/training/new?dataset=${encodeURIComponent(d.id)}`}>
                  Train
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
