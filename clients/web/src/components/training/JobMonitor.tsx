"use client";

import { isTerminalJobState, type TrainingJob } from "@strata/client";
import { useEffect, useState } from "react";
import { apiClient } from "../../lib/api";
import { describeError, type ErrorView } from "../../lib/errors";
import { applyEvent, emptyTraining, isActive, type TrainingView } from "../../lib/training";
import { useApi } from "../../lib/use-api";
import { ErrorPanel, Loading } from "../ErrorPanel";
import { JobStatePill } from "../Pill";
import { JobView, type StreamStatus } from "./JobView";

/**
 * Follows one job live: the job as it is now, then every event since it was created (the API
 * replays them), folded into the charts as they arrive. Reconnects are the client's business
 * (`watchTrainingJob` resumes with Last-Event-ID); this component only shows the stream's status.
 */
export function JobMonitor({ id }: { id: string }) {
  const [view, setView] = useState<TrainingView>(emptyTraining());
  const [stream, setStream] = useState<StreamStatus>({ state: "connecting" });
  const [loadError, setLoadError] = useState<ErrorView | undefined>();
  const [cancelError, setCancelError] = useState<ErrorView | undefined>();
  const [cancelling, setCancelling] = useState(false);
  // Only for the settings' titles: without it they show by name, so a failure here is not shown.
  const system = useApi("system", (client, signal) => client.getSystemInfo({ signal }));

  useEffect(() => {
    const controller = new AbortController();
    const client = apiClient();
    let loaded = false;
    (async () => {
      try {
        const job = await client.getTrainingJob(id, { signal: controller.signal });
        loaded = true;
        setView((v) => (v.job ? v : { ...v, job }));
        for await (const event of client.watchTrainingJob(id, {
          signal: controller.signal,
          onOpen: () => setStream({ state: "live" }),
          onReconnect: (reason, attempt, delayMs) =>
            setStream({ state: "reconnecting", attempt, delayMs, reason: describeError(reason) }),
        })) {
          setView((v) => applyEvent(v, event));
        }
        setStream({ state: "ended" });
      } catch (error) {
        if (controller.signal.aborted) return;
        const described = describeError(error);
        if (!loaded) setLoadError(described);
        setStream({ state: "failed", reason: described });
      }
    })();
    return () => controller.abort();
  }, [id]);

  async function cancel() {
    setCancelling(true);
    setCancelError(undefined);
    try {
      const job = await apiClient().cancelTrainingJob(id);
      // The event stream brings the final state; show the answer at once in case it is slow.
      setView((v) => ({ ...v, job: mergeJob(v.job, job) }));
    } catch (error) {
      setCancelError(describeError(error));
    } finally {
      setCancelling(false);
    }
  }

  const job = view.job;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <a href="/training">Training</a> / <span aria-current="page" className="mono">{id}</span>
      </nav>
      <div className="title-row">
        <div>
          <h1>
            {job ? `Training ${job.model_name}` : "Training job"} {job ? <JobStatePill state={job.state} /> : null}
          </h1>
          <p className="lead mono small">{id}</p>
        </div>
        {job && isActive(job.state) ? (
          <button type="button" className="button danger" onClick={() => void cancel()} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel job"}
          </button>
        ) : null}
      </div>
      {cancelError ? <ErrorPanel error={cancelError} compact /> : null}
      {loadError ? <ErrorPanel error={loadError} /> : null}
      {!job && !loadError ? <Loading label="Loading the job…" /> : null}
      {job ? <JobView view={view} stream={stream} ml={system.data?.ml} /> : null}
    </>
  );
}

/** The newer of two snapshots of a job: a terminal state is never replaced by an active one. */
function mergeJob(current: TrainingJob | undefined, answer: TrainingJob): TrainingJob {
  if (current && isTerminalJobState(current.state) && !isTerminalJobState(answer.state)) return current;
  return { ...current, ...answer };
}
