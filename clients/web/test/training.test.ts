import type { JobState, Metrics, TrainingEvent, TrainingProgress } from "@strata/client";
import { describe, expect, it } from "vitest";
import { applyEvent, completion, emptyTraining, stateLabel, type TrainingView } from "../src/lib/training";

const metrics = (loss: number, accuracy: number): Metrics => ({ loss, accuracy, macro_f1: accuracy - 0.01, confusion_matrix: [] });

let sequence = 0;
function event(kind: string, state: JobState, progress?: Partial<TrainingProgress>): TrainingEvent {
  sequence += 1;
  return {
    sequence,
    kind,
    job: {
      id: "job-1",
      model_name: "digits",
      kind: "mlp-classifier",
      dataset_id: "ds",
      hyperparameters: {},
      parameters: {},
      state,
      progress: progress
        ? { epoch: 1, total_epochs: 2, step: 0, total_steps: 100, train_loss: 0, examples_per_second: 10, eta_seconds: 5, ...progress }
        : null,
    },
  };
}

function fold(events: TrainingEvent[]): TrainingView {
  return events.reduce(applyEvent, emptyTraining());
}

describe("applyEvent", () => {
  it("plots per-step training loss and one validation point per epoch, as the ML service sends them", () => {
    sequence = 0;
    const view = fold([
      event("state", "queued"),
      event("state", "running"),
      event("progress", "running", { step: 0 }), // the Started event: nothing to plot yet
      event("progress", "running", { step: 10, train_loss: 2.1 }),
      event("progress", "running", { step: 25, train_loss: 1.4 }),
      event("progress", "running", { step: 50, train_loss: 0.9 }),
      // End of epoch 1: the mean loss and validation metrics, at the epoch's last step.
      event("progress", "running", { step: 50, train_loss: 1.2, validation: metrics(0.8, 0.7) }),
      event("checkpoint", "running", { step: 50, train_loss: 1.2, validation: metrics(0.8, 0.7) }),
      // Steps of epoch 2 still carry epoch 1's validation: not a new epoch.
      event("progress", "running", { epoch: 2, step: 75, train_loss: 0.6, validation: metrics(0.8, 0.7) }),
      event("progress", "running", { epoch: 2, step: 100, train_loss: 0.5, validation: metrics(0.8, 0.7) }),
      event("progress", "running", { epoch: 2, step: 100, train_loss: 0.55, validation: metrics(0.4, 0.9) }),
      event("state", "succeeded", { epoch: 2, step: 100, train_loss: 0.55, validation: metrics(0.4, 0.9) }),
    ]);

    expect(view.trainLoss).toEqual([
      { step: 10, loss: 2.1 },
      { step: 25, loss: 1.4 },
      { step: 50, loss: 0.9 },
      { step: 75, loss: 0.6 },
      { step: 100, loss: 0.5 },
    ]);
    expect(view.epochs.map((e) => [e.epoch, e.step, e.trainLoss, e.validation.accuracy])).toEqual([
      [1, 50, 1.2, 0.7],
      [2, 100, 0.55, 0.9],
    ]);
    expect(view.checkpoints).toEqual([50]);
    expect(view.job?.state).toBe("succeeded");
    expect(view.lastSequence).toBe(12);
  });

  it("ignores a replayed event it has already folded in", () => {
    sequence = 0;
    const first = event("progress", "running", { step: 10, train_loss: 2 });
    const view = fold([first, event("progress", "running", { step: 20, train_loss: 1 })]);
    expect(applyEvent(view, first)).toBe(view);
  });

  it("forgets the steps a job repeats after resuming from a checkpoint", () => {
    sequence = 0;
    const view = fold([
      event("progress", "running", { step: 10, train_loss: 2 }),
      event("progress", "running", { step: 20, train_loss: 1.5, validation: metrics(1, 0.5) }),
      event("progress", "running", { step: 30, train_loss: 1.2, validation: metrics(1, 0.5) }),
      event("progress", "running", { step: 40, train_loss: 1.0, validation: metrics(1, 0.5) }),
      // Crash; the job resumes from its checkpoint at step 20 and repeats steps 21..40.
      event("progress", "running", { step: 25, train_loss: 1.3, validation: metrics(1, 0.5) }),
    ]);
    expect(view.trainLoss).toEqual([
      { step: 10, loss: 2 },
      { step: 25, loss: 1.3 },
    ]);
    expect(view.epochs.map((e) => e.step)).toEqual([20]);
  });
});

describe("completion and labels", () => {
  it("is steps done over total steps, and 1 once the job succeeded", () => {
    sequence = 0;
    expect(completion(undefined)).toBe(0);
    expect(completion(event("progress", "running", { step: 25, total_steps: 100 }).job ?? undefined)).toBe(0.25);
    expect(completion(event("progress", "running", { step: 0, total_steps: 0 }).job ?? undefined)).toBe(0);
    expect(completion(event("state", "succeeded").job ?? undefined)).toBe(1);
  });

  it("names every state with a tone", () => {
    expect(["queued", "running", "succeeded", "failed", "cancelled"].map((s) => stateLabel(s as JobState).tone)).toEqual([
      "neutral",
      "info",
      "ok",
      "error",
      "warn",
    ]);
    expect(stateLabel(null).text).toBe("Unknown");
  });
});
