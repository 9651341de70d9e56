/**
 * Folds a job's Server-Sent Events into what the training page draws: the training loss per
 * step, the validation metrics per epoch, checkpoints, and the latest job snapshot. Pure, so the
 * chart's data can be checked event by event without a browser.
 */
import { isTerminalJobState, type JobState, type Metrics, type TrainingEvent, type TrainingJob } from "@strata/client";

export interface LossPoint {
  step: number;
  loss: number;
}

export interface EpochPoint {
  epoch: number;
  /** Step at the end of the epoch, so epochs sit on the same x axis as the loss. */
  step: number;
  trainLoss: number;
  validation: Metrics;
}

export interface TrainingView {
  job: TrainingJob | undefined;
  /** Sequence of the last event folded in; replays of older events are ignored. */
  lastSequence: number;
  trainLoss: LossPoint[];
  epochs: EpochPoint[];
  checkpoints: number[];
}

export function emptyTraining(job?: TrainingJob): TrainingView {
  return { job, lastSequence: 0, trainLoss: [], epochs: [], checkpoints: [] };
}

const sameMetrics = (a: Metrics | null | undefined, b: Metrics | null | undefined) =>
  a?.loss === b?.loss && a?.accuracy === b?.accuracy && a?.macro_f1 === b?.macro_f1;

/** A job resumed from a checkpoint repeats steps: forget what came after the point it resumed at. */
function truncateFrom<T extends { step: number }>(points: T[], step: number): T[] {
  const keep = points.findIndex((p) => p.step >= step);
  return keep === -1 ? points : points.slice(0, keep);
}

export function applyEvent(view: TrainingView, event: TrainingEvent): TrainingView {
  if (event.sequence <= view.lastSequence) return view;
  const next: TrainingView = { ...view, lastSequence: event.sequence, job: event.job ?? view.job };
  const progress = event.job?.progress;
  if (event.kind === "checkpoint" && progress) {
    next.checkpoints = [...view.checkpoints, progress.step];
  }
  if (event.kind !== "progress" || !progress || progress.step <= 0) return next;

  const lastEpoch = view.epochs.at(-1);
  // The ML service sends a progress event per time slice and one at the end of every epoch; only
  // the latter carries new validation metrics (and the epoch's mean training loss).
  if (progress.validation && !sameMetrics(progress.validation, lastEpoch?.validation)) {
    next.epochs = [
      ...truncateFrom(view.epochs, progress.step + 1),
      { epoch: progress.epoch, step: progress.step, trainLoss: progress.train_loss, validation: progress.validation },
    ];
    return next;
  }
  const lastLoss = view.trainLoss.at(-1);
  if (lastLoss && lastLoss.step === progress.step) return next;
  next.trainLoss = [...truncateFrom(view.trainLoss, progress.step), { step: progress.step, loss: progress.train_loss }];
  if (lastLoss && progress.step < lastLoss.step) next.epochs = truncateFrom(next.epochs, progress.step);
  return next;
}

/** Fraction of the job's steps done, 0..1 (1 once it succeeded). */
export function completion(job: TrainingJob | undefined): number {
  if (!job) return 0;
  if (job.state === "succeeded") return 1;
  const p = job.progress;
  if (!p || p.total_steps <= 0) return 0;
  return Math.min(1, Math.max(0, p.step / p.total_steps));
}

export function isActive(state: JobState | null | undefined): boolean {
  return state === "queued" || state === "running";
}

export { isTerminalJobState };

/** How a job's state reads in the UI, and the pill style it gets. */
export function stateLabel(state: JobState | null | undefined): { text: string; tone: "neutral" | "info" | "ok" | "error" | "warn" } {
  switch (state) {
    case "queued":
      return { text: "Queued", tone: "neutral" };
    case "running":
      return { text: "Running", tone: "info" };
    case "succeeded":
      return { text: "Succeeded", tone: "ok" };
    case "failed":
      return { text: "Failed", tone: "error" };
    case "cancelled":
      return { text: "Cancelled", tone: "warn" };
    default:
      return { text: "Unknown", tone: "neutral" };
  }
}
