import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { SystemView } from "../src/components/SystemView";
import type { Model, TrainingJob } from "@strata/client";
import { ErrorPanel } from "../src/components/ErrorPanel";
import { HeatMap } from "../src/components/HeatMap";
import { LineChart } from "../src/components/LineChart";
import { VersionCard } from "../src/components/models/ModelDetail";
import { JobView, hyperparameterList } from "../src/components/training/JobView";
import { applyEvent, emptyTraining } from "../src/lib/training";

const info = {
  api_version: "0.1.0",
  ml: {
    service: "strata-ml",
    version: "0.1.0",
    device: "cpu",
    cuda_compiled: false,
    device_note: "",
    uptime_seconds: 125,
    model_kinds: ["mlp-classifier", "text-encoder"],
  },
};

describe("SystemView", () => {
  it("shows every field of the ML service info", () => {
    const html = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} />);
    for (const text of ["strata-ml", "cpu", "2 min 5 s", "mlp-classifier", "text-encoder", "Online"]) {
      expect(html).toContain(text);
    }
    expect(html).toMatch(/data-testid="ml-cuda">no</);
    expect(html).not.toContain('role="alert"');
  });

  it("shows why the device differs from the one asked for, and only then", () => {
    const note = "auto: cuda:0 unavailable: no NVIDIA driver found; using cpu";
    const html = renderToStaticMarkup(
      <SystemView state={{ status: "ok", info: { ...info, ml: { ...info.ml, device_note: note } } }} />,
    );
    expect(html).toContain(`data-testid="ml-device-note">${note}<`);
    const plain = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} />);
    expect(plain).not.toContain("ml-device-note");
  });

  it("says so when no model kinds are registered", () => {
    const html = renderToStaticMarkup(
      <SystemView state={{ status: "ok", info: { ...info, ml: { ...info.ml, model_kinds: [] } } }} />,
    );
    expect(html).toContain("none registered");
  });

  it("shows an error as an alert with its title, message and hint", () => {
    const html = renderToStaticMarkup(
      <SystemView
        state={{
          status: "error",
          error: {
            kind: "ml-unavailable",
            title: "ML service unavailable",
            message: "no answer",
            detail: "tcp connect error",
            hint: "start it",
          },
        }}
      />,
    );
    expect(html).toContain('role="alert"');
    expect(html).toContain('data-kind="ml-unavailable"');
    expect(html).toContain("ML service unavailable");
    expect(html).toContain("start it");
    expect(html).toContain('<p class="error-detail">tcp connect error</p>');
    expect(html).toContain("Unavailable");
    expect(html).not.toContain("data-testid=\"ml-device\"");
  });

  it("marks itself busy while loading and offers refresh only with a handler", () => {
    const loading = renderToStaticMarkup(<SystemView state={{ status: "loading" }} />);
    expect(loading).toContain('aria-busy="true"');
    expect(loading).not.toContain("<button");
    const refreshing = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} refreshing onRefresh={() => {}} />);
    expect(refreshing).toMatch(/<button[^>]*disabled=""[^>]*>Refreshing…<\/button>/);
  });
});

const runningJob: TrainingJob = {
  id: "job-7",
  model_name: "digits",
  kind: "mlp-classifier",
  dataset_id: "ds-1",
  hyperparameters: { epochs: 4, hidden_layers: [64, 32], learning_rate: 0.005 },
  state: "running",
  progress: { epoch: 2, total_epochs: 4, step: 90, total_steps: 180, train_loss: 0.42, examples_per_second: 5200, eta_seconds: 12.4, validation: null },
};

describe("JobView", () => {
  it("shows progress, ETA and a chart point per event while the job runs", () => {
    let view = emptyTraining(runningJob);
    for (const [i, step] of [30, 60, 90].entries()) {
      view = applyEvent(view, { sequence: i + 1, kind: "progress", job: { ...runningJob, progress: { ...runningJob.progress!, step, train_loss: 1 / step } } });
    }
    const html = renderToStaticMarkup(<JobView view={view} stream={{ state: "live" }} />);

    expect(html).toContain('aria-valuenow="50"');
    expect(html).toMatch(/data-testid="job-eta">13 s</);
    expect(html).toMatch(/data-testid="job-epoch">2 \/ 4</);
    expect(html).toContain('data-series="train" data-count="3"');
    expect(html).toContain("● Live");
    expect(html).toContain("64, 32");
    expect(html).not.toContain("Result");
  });

  it("shows the test metrics and the way to the model once the job succeeded", () => {
    const done: TrainingJob = {
      ...runningJob,
      state: "succeeded",
      model_version: "v3",
      test_metrics: { accuracy: 0.9612, macro_f1: 0.96, loss: 0.12, confusion_matrix: [] },
    };
    const html = renderToStaticMarkup(<JobView view={emptyTraining(done)} stream={{ state: "ended" }} />);
    expect(html).toMatch(/data-testid="test-accuracy">96.1%</);
    expect(html).toContain('href="/models/digits?version=v3"');
    expect(html).toMatch(/data-testid="job-eta">–</);
  });

  it("says why a job failed and when updates stopped", () => {
    const failed: TrainingJob = { ...runningJob, state: "failed", error: "dataset has no label column" };
    const html = renderToStaticMarkup(
      <JobView
        view={emptyTraining(failed)}
        stream={{ state: "failed", reason: { kind: "not-found", title: "Not found", message: "gone", hint: "h" } }}
      />,
    );
    expect(html).toContain("The job failed");
    expect(html).toContain("dataset has no label column");
    expect(html).toContain("Updates stopped");
  });

  it("lists only the hyperparameters that were set", () => {
    expect(hyperparameterList({ epochs: 3, seed: null, hidden_layers: [8] })).toEqual([
      ["Epochs", "3"],
      ["Hidden layers", "8"],
    ]);
  });
});

describe("VersionCard", () => {
  it("draws the confusion matrix as a heat map with the schema's class names", () => {
    const model: Model = {
      name: "digits",
      aliases: { production: "v1" },
      versions: [
        {
          version: "v1",
          kind: "mlp-classifier",
          size_bytes: 1000,
          io_schema: { input: { type: "features", dim: 64, names: [] }, output: { type: "classes", classes: ["zero", "one"] } } as never,
          hyperparameters: { epochs: 3 } as never,
          test_metrics: { accuracy: 0.75, macro_f1: 0.7, loss: 0.5, confusion_matrix: [[3, 1], [0, 4]] },
        },
      ],
    };
    const html = renderToStaticMarkup(<VersionCard model={model} version={model.versions[0]!} />);
    expect(html).toContain('data-testid="confusion-matrix"');
    expect(html.match(/<td /g)).toHaveLength(4);
    expect(html).toContain('title="True zero, Predicted one: 1"');
    expect(html).toContain("(8 rows)");
    // Row-normalised shading: 4 of 4 in row "one" is the darkest colour, 0 the lightest.
    expect(html).toContain("background:rgb(31, 63, 153)");
    expect(html).toContain("background:rgb(240, 244, 252)");
    expect(html).toContain('href="/playground/digits?model=digits%40production"');
  });
});

describe("building blocks", () => {
  it("ErrorPanel links to sign-in when the session is gone", () => {
    const html = renderToStaticMarkup(<ErrorPanel error={{ kind: "unauthenticated", title: "Signed out", message: "m", hint: "Sign in again." }} />);
    expect(html).toContain('href="/signin"');
  });

  it("HeatMap clamps a fixed scale and formats values", () => {
    const html = renderToStaticMarkup(
      <HeatMap caption="c" rowLabels={["a"]} colLabels={["a", "b"]} values={[[1, -0.2]]} rowTitle="r" colTitle="c" scale={[0, 1]} format={(v) => v.toFixed(2)} />,
    );
    expect(html).toContain(">1.00<");
    expect(html).toContain(">-0.20<");
    expect(html).toContain("background:rgb(240, 244, 252)");
  });

  it("LineChart says it is waiting when there is no data, and sums up the latest values", () => {
    const empty = renderToStaticMarkup(<LineChart title="Loss" xLabel="step" yLabel="loss" series={[{ id: "a", label: "train", color: "red", points: [] }]} />);
    expect(empty).toContain("Waiting for the first progress event");
    expect(empty).toContain('aria-label="Loss: no data yet"');
    const drawn = renderToStaticMarkup(
      <LineChart title="Loss" xLabel="step" yLabel="loss" series={[{ id: "a", label: "train", color: "red", points: [{ x: 1, y: 2 }, { x: 2, y: 1 }] }]} />,
    );
    expect(drawn).toContain('aria-label="Loss: latest train 1"');
    expect(drawn).toMatch(/<path d="M[\d.]+ [\d.]+ L/);
  });
});
