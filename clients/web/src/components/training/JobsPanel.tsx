"use client";

import type { TrainingJob } from "@strata/client";
import { LIST_PAGE_SIZE, LIST_REFRESH_MS } from "../../lib/config";
import { formatPercent, formatTime } from "../../lib/format";
import { completion, isActive } from "../../lib/training";
import { useApi } from "../../lib/use-api";
import { Empty, ErrorPanel, Loading } from "../ErrorPanel";
import { JobStatePill } from "../Pill";

export function JobsPanel() {
  const jobs = useApi(
    "jobs",
    async (client, signal) => {
      const [jobs, datasets] = await Promise.all([
        client.listTrainingJobs({ pageSize: LIST_PAGE_SIZE, signal }),
        client.listDatasets({ pageSize: 500, signal }),
      ]);
      return { jobs: jobs.jobs, datasetNames: Object.fromEntries(datasets.datasets.map((d) => [d.id, d.name])) };
    },
    { refreshMs: LIST_REFRESH_MS },
  );
  const data = jobs.data;
  return (
    <section className="card" aria-labelledby="jobs-heading" aria-busy={jobs.state.status === "loading"}>
      <header className="card-header">
        <h2 id="jobs-heading">Jobs</h2>
        {data ? <span className="muted">{data.jobs.filter((j) => isActive(j.state)).length} active · refreshing every few seconds</span> : null}
      </header>
      {jobs.state.status === "error" ? <ErrorPanel error={jobs.state.error} /> : null}
      {jobs.state.status === "loading" ? <Loading label="Loading jobs…" /> : null}
      {data && data.jobs.length === 0 ? (
        <Empty title="No training jobs yet.">
          <a href="/training/new">Start one</a> on an uploaded dataset.
        </Empty>
      ) : null}
      {data && data.jobs.length > 0 ? <JobTable jobs={data.jobs} datasetNames={data.datasetNames} /> : null}
    </section>
  );
}

export function JobTable({ jobs, datasetNames }: { jobs: TrainingJob[]; datasetNames: Record<string, string> }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="jobs-table">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Model</th>
            <th scope="col">Dataset</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const p = job.progress;
            return (
              <tr key={job.id}>
                <th scope="row">
                  <a className="mono" href={`/training/${encodeURIComponent(job.id)}`}>
                    {job.id}
                  </a>
                  <div className="muted small">{job.kind}</div>
                </th>
                <td>
                  {job.model_version ? (
                    <a href={`/models/${encodeURIComponent(job.model_name)}?version=${encodeURIComponent(job.model_version)}`}>
                      {job.model_name}@{job.model_version}
                    </a>
                  ) : (
                    job.model_name
                  )}
                </td>
                <td>{datasetNames[job.dataset_id] ?? <span className="mono small">{job.dataset_id}</span>}</td>
                <td>
                  <JobStatePill state={job.state} />
                </td>
                <td>
                  <div className="progress small-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(completion(job) * 100)} aria-label={`Progress of ${job.id}`}>
                    <div className="progress-fill" style={{ width: formatPercent(completion(job)) }} />
                  </div>
                  <span className="muted small">{p && p.total_epochs > 0 ? `epoch ${Math.min(p.epoch, p.total_epochs)}/${p.total_epochs}` : formatPercent(completion(job))}</span>
                </td>
                <td>{formatTime(job.created_at)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
