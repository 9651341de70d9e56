"use client";

import { LIST_PAGE_SIZE, LIST_REFRESH_MS } from "../lib/config";
import { isActive } from "../lib/training";
import { useApi } from "../lib/use-api";
import { ErrorPanel } from "./ErrorPanel";

/** Three counts with the next step beside each: the product flow at a glance. */
export function OverviewStats() {
  const counts = useApi(
    "overview",
    async (client, signal) => {
      const [datasets, jobs, models] = await Promise.all([
        client.listDatasets({ pageSize: LIST_PAGE_SIZE, signal }),
        client.listTrainingJobs({ pageSize: LIST_PAGE_SIZE, signal }),
        client.listModels({ pageSize: LIST_PAGE_SIZE, signal }),
      ]);
      const more = (token: string | null | undefined) => (token ? "+" : "");
      return {
        datasets: `${datasets.datasets.length}${more(datasets.next_page_token)}`,
        active: jobs.jobs.filter((j) => isActive(j.state)).length,
        jobs: `${jobs.jobs.length}${more(jobs.next_page_token)}`,
        models: `${models.models.length}${more(models.next_page_token)}`,
        promoted: models.models.filter((m) => Object.keys(m.aliases).length > 0).length,
      };
    },
    { refreshMs: LIST_REFRESH_MS * 2 },
  );
  const c = counts.data;
  const stat = (value: string | number | undefined) => (value === undefined ? "…" : value);
  return (
    <section className="stats" aria-label="Summary" aria-busy={counts.state.status === "loading"}>
      <a className="stat card" href="/datasets">
        <span className="stat-value" data-testid="stat-datasets">
          {stat(c?.datasets)}
        </span>
        <span className="stat-label">Datasets</span>
        <span className="stat-next">Upload Parquet →</span>
      </a>
      <a className="stat card" href="/training">
        <span className="stat-value" data-testid="stat-jobs">
          {stat(c?.jobs)}
        </span>
        <span className="stat-label">Training jobs{c && c.active > 0 ? ` · ${c.active} active` : ""}</span>
        <span className="stat-next">Train a model →</span>
      </a>
      <a className="stat card" href="/models">
        <span className="stat-value" data-testid="stat-models">
          {stat(c?.models)}
        </span>
        <span className="stat-label">Models{c ? ` · ${c.promoted} promoted` : ""}</span>
        <span className="stat-next">Promote and try →</span>
      </a>
      {counts.state.status === "error" ? (
        <div className="stats-error">
          <ErrorPanel error={counts.state.error} compact />
        </div>
      ) : null}
    </section>
  );
}
