import type { MlServiceInfo, Metrics } from "@strata/client";
import type { ErrorView } from "../../lib/errors";
import { formatEta, formatNumber, formatPercent, formatTime, formatUptime } from "../../lib/format";
import { findKind, kindsOf } from "../../lib/model-kinds";
import { valueList } from "../../lib/schema-form";
import { completion, isActive, type TrainingView } from "../../lib/training";
import { ErrorPanel } from "../ErrorPanel";
import { LineChart } from "../LineChart";
import { Pill } from "../Pill";
import { Fact } from "../Fact";

export type StreamStatus =
  | { state: "connecting" }
  | { state: "live" }
  | { state: "reconnecting"; attempt: number; delayMs: number; reason: ErrorView }
  | { state: "ended" }
  | { state: "failed"; reason: ErrorView };

/**
 * The job page body for one moment of a job; no fetching, so any state renders in a test. With
 * the server's kind descriptions (`ml`), settings carry the schemas' titles and the kind its own.
 */
export function JobView({ view, stream, ml }: { view: TrainingView; stream: StreamStatus; ml?: Pick<MlServiceInfo, "kinds" | "hyperparameters"> | undefined }) {
  const job = view.job;
  if (!job) return null;
  const kind = ml ? findKind(kindsOf(ml), job.kind) : undefined;
  const p = job.progress;
  const active = isActive(job.state);
  const done = completion(job);
  const elapsed = job.started_at ? ((job.finished_at ? Date.parse(job.finished_at) : Date.now()) - Date.parse(job.started_at)) / 1000 : undefined;

  return (
    <>
      <section className="card" aria-labelledby="progress-heading">
        <header className="card-header">
          <h2 id="progress-heading">Progress</h2>
          <StreamPill stream={stream} active={active} />
        </header>
        <div
          className="progress"
          role="progressbar"
          aria-label="Training progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(done * 100)}
          data-testid="job-progress"
        >
          <div className="progress-fill" style={{ width: formatPercent(done) }} />
        </div>
        <dl className="facts">
          <Fact label="Done" value={formatPercent(done)} />
          <Fact label="Epoch" value={p && p.total_epochs > 0 ? `${Math.min(p.epoch, p.total_epochs)} / ${p.total_epochs}` : "–"} testId="job-epoch" />
          <Fact label="Step" value={p && p.total_steps > 0 ? `${p.step} / ${p.total_steps}` : "–"} testId="job-step" />
          <Fact label="ETA" value={active ? (job.state === "queued" ? "waiting to start" : formatEta(p?.eta_seconds)) : "–"} testId="job-eta" />
          <Fact label="Throughput" value={p && p.examples_per_second > 0 ? `${formatNumber(p.examples_per_second, 3)} rows/s` : "–"} />
          <Fact label="Elapsed" value={elapsed !== undefined && elapsed >= 0 ? formatUptime(elapsed) : "–"} />
          <Fact label="Train loss" value={formatNumber(p?.train_loss)} testId="job-loss" />
          <Fact label="Val. accuracy" value={formatPercent(p?.validation?.accuracy)} testId="job-val-accuracy" />
        </dl>
        {stream.state === "reconnecting" ? (
          <p className="muted small" role="status">
            Connection lost ({stream.reason.title}); reconnecting in {Math.ceil(stream.delayMs / 1000)} s, attempt {stream.attempt}.
          </p>
        ) : null}
        {stream.state === "failed" ? <ErrorPanel error={stream.reason} compact /> : null}
      </section>

      {job.state === "failed" ? (
        <div className="error-panel" role="alert" data-kind="job-failed">
          <h3>The job failed</h3>
          <p className="error-detail">{job.error ?? "The ML service gave no reason."}</p>
        </div>
      ) : null}

      <div className="columns charts">
        <LineChart
          title="Loss"
          xLabel="step"
          yLabel="loss"
          xMax={p?.total_steps}
          series={[
            { id: "train", label: "training (per step)", color: "var(--series-1)", points: view.trainLoss.map((l) => ({ x: l.step, y: l.loss })) },
            {
              id: "validation",
              label: "validation (per epoch)",
              color: "var(--series-2)",
              dots: true,
              points: view.epochs.map((e) => ({ x: e.step, y: e.validation.loss })),
            },
          ]}
        />
        <LineChart
          title="Validation accuracy"
          xLabel="step"
          yLabel="accuracy"
          yDomain={[0, 1]}
          xMax={p?.total_steps}
          formatY={(v) => formatPercent(v)}
          series={[
            { id: "accuracy", label: "accuracy", color: "var(--series-3)", dots: true, points: view.epochs.map((e) => ({ x: e.step, y: e.validation.accuracy })) },
            { id: "macro-f1", label: "macro-F1", color: "var(--series-4)", dots: true, points: view.epochs.map((e) => ({ x: e.step, y: e.validation.macro_f1 })) },
          ]}
        />
      </div>

      <div className="columns">
        {job.state === "succeeded" ? <ResultCard modelName={job.model_name} version={job.model_version} metrics={job.test_metrics} /> : null}
        <section className="card" aria-labelledby="settings-heading">
          <header className="card-header">
            <h2 id="settings-heading">Settings</h2>
          </header>
          <dl className="facts compact">
            <Fact label="Model" value={job.model_name} />
            <Fact label="Kind" value={kind?.title && kind.title !== job.kind ? `${kind.title} (${job.kind})` : job.kind} />
            <div className="fact">
              <dt>Dataset</dt>
              <dd>
                <a href={`/datasets/${encodeURIComponent(job.dataset_id)}`} className="mono small">
                  {job.dataset_id}
                </a>
              </dd>
            </div>
            {job.base_model ? <Fact label="Base model" value={job.base_model} /> : null}
            {valueList(job.parameters, kind?.parameters).map(([k, v]) => (
              <Fact key={`parameter-${k}`} label={k} value={v} />
            ))}
            {valueList(job.hyperparameters, ml?.hyperparameters).map(([k, v]) => (
              <Fact key={`hyperparameter-${k}`} label={k} value={v} />
            ))}
            <Fact label="Created" value={formatTime(job.created_at)} />
            <Fact label="Finished" value={formatTime(job.finished_at)} />
            {view.checkpoints.length > 0 ? <Fact label="Checkpoints" value={`${view.checkpoints.length}, last at step ${view.checkpoints.at(-1)}`} /> : null}
          </dl>
        </section>
      </div>
    </>
  );
}

function ResultCard({ modelName, version, metrics }: { modelName: string; version: string | null | undefined; metrics: Metrics | null | undefined }) {
  const href = `/models/${encodeURIComponent(modelName)}${version ? `?version=${encodeURIComponent(version)}` : ""}`;
  return (
    <section className="card result" aria-labelledby="result-heading">
      <header className="card-header">
        <h2 id="result-heading">Result</h2>
        <Pill tone="ok">
          {modelName}@{version ?? "?"}
        </Pill>
      </header>
      <p className="muted">Metrics on the held-out test split.</p>
      <dl className="facts">
        <Fact label="Test accuracy" value={formatPercent(metrics?.accuracy)} testId="test-accuracy" />
        <Fact label="Macro-F1" value={formatPercent(metrics?.macro_f1)} />
        <Fact label="Test loss" value={formatNumber(metrics?.loss)} />
      </dl>
      <a className="button primary" href={href}>
        Open the model: confusion matrix, promote
      </a>
    </section>
  );
}

function StreamPill({ stream, active }: { stream: StreamStatus; active: boolean }) {
  if (stream.state === "live" && active) return <Pill tone="info">● Live</Pill>;
  if (stream.state === "connecting") return <Pill>Connecting…</Pill>;
  if (stream.state === "reconnecting") return <Pill tone="warn">Reconnecting…</Pill>;
  if (stream.state === "failed") return <Pill tone="error">Updates stopped</Pill>;
  return <Pill>Final</Pill>;
}
