import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { SystemView } from "../src/components/SystemView";
import type { Dataset, Model, TrainingJob } from "@strata/client";
import { ErrorPanel } from "../src/components/ErrorPanel";
import { HeatMap } from "../src/components/HeatMap";
import { LineChart } from "../src/components/LineChart";
import { VersionCard } from "../src/components/models/ModelDetail";
import { JobView } from "../src/components/training/JobView";
import { JobForm, type JobFormData } from "../src/components/training/NewJobForm";
import { applyEvent, emptyTraining } from "../src/lib/training";
import { HYPERPARAMETERS, ML, MLP, TEXT_CLASSIFIER, TEXT_ENCODER, TEXT_NGRAM } from "./fixtures/kinds";

const info = { api_version: "0.1.0", ml: ML };

describe("SystemView", () => {
  it("shows every field of the ML service info", () => {
    const html = renderToStaticMarkup(<SystemView state={{ status: "ok", info }} />);
    for (const text of ["strata-ml", "cpu", "2 min 5 s", "mlp-classifier", "text-encoder", "Online"]) {
      expect(html).toContain(text);
    }
    // Each kind as the server describes it.
    expect(html).toContain("Text n-gram classifier");
    expect(html).toContain(TEXT_NGRAM.description);
    expect(html).toContain("Text encoder (import only)");
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
      <SystemView state={{ status: "ok", info: { ...info, ml: { ...info.ml, model_kinds: [], kinds: [] } } }} />,
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
  hyperparameters: { epochs: 4, learning_rate: 0.005 },
  parameters: { hidden: [64, 32] },
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

  it("lists the settings that were sent, titled as the server's schemas title them", () => {
    const job: TrainingJob = { ...runningJob, hyperparameters: { epochs: 3, seed: null }, parameters: { hidden: [8] } };
    const described = renderToStaticMarkup(<JobView view={emptyTraining(job)} stream={{ state: "live" }} ml={ML} />);
    expect(described).toContain("<dt>Hidden layers</dt><dd>8</dd>");
    expect(described).toContain("<dt>Epochs</dt><dd>3</dd>");
    expect(described).not.toContain("<dt>Seed</dt>");
    expect(described).toContain("MLP classifier (mlp-classifier)");
    // Without the descriptions (not loaded yet, or failed), by name.
    const bare = renderToStaticMarkup(<JobView view={emptyTraining(job)} stream={{ state: "live" }} />);
    expect(bare).toContain("<dt>Hidden</dt><dd>8</dd>");
    expect(bare).toContain("<dd>mlp-classifier</dd>");
  });
});

const dataset = (id: string, textColumn: string): Dataset => ({
  id,
  name: id,
  description: "",
  schema: { label_column: "label", text_column: textColumn },
  num_rows: 240,
  size_bytes: 1,
  sha256: "",
  columns: [],
  classes: ["a", "b"],
  class_counts: [120, 120],
});

const encoder: Model = {
  name: "minilm",
  aliases: { production: "v1" },
  versions: [{ version: "v1", kind: "text-encoder", size_bytes: 1, io_schema: {} as never, hyperparameters: {} as never }],
};
const classifier: Model = { name: "digits", aliases: {}, versions: [{ ...encoder.versions[0]!, kind: "mlp-classifier" }] };

/** The form's markup for a dataset, built from the server's descriptions in `kinds`. */
function jobForm(kinds: JobFormData["kinds"], datasetId: string): string {
  const data: JobFormData = {
    kinds,
    hyperparameters: HYPERPARAMETERS,
    datasets: [dataset("digits", ""), dataset("support", "text")],
    models: [classifier, encoder],
  };
  return renderToStaticMarkup(<JobForm data={data} datasetId={datasetId} />);
}

/** The attributes of the element with `id`, as one string. */
const tag = (html: string, id: string) => html.match(new RegExp(`<[a-z]+ [^>]*id="${id}"[^>]*>`))?.[0] ?? "";

describe("JobForm", () => {
  it("shows a kind's own settings from its schema alone, blank with the server's defaults as placeholders", () => {
    // The form has never heard of this kind: all it knows is the fixture's description.
    const html = jobForm([MLP, TEXT_NGRAM, TEXT_ENCODER], "support");
    expect(html).toMatch(/<option value="text-ngram-classifier" selected="">Text n-gram classifier \(text-ngram-classifier\)<\/option>/);
    expect(html).not.toContain('value="text-encoder"');
    expect(html).toContain(`<legend>Text n-gram classifier settings</legend>`);
    for (const [name, label, placeholder] of [
      ["buckets", "Buckets", "8192"],
      ["ngrams", "Ngrams", "2"],
      ["char_ngrams", "Char ngrams", "4"],
      ["max_words", "Max words", "256"],
    ]) {
      expect(html).toContain(`<label for="param-${name}">${label}<span class="optional"> (optional)</span></label>`);
      expect(tag(html, `param-${name}`)).toContain(`placeholder="${placeholder}"`);
      expect(tag(html, `param-${name}`)).toContain('value=""');
    }
    expect(html).toContain("Hash buckets the n-grams fall into. From 16 to 1048576.");
    // The shared knobs are blank too: the server's defaults apply unless one is typed.
    expect(tag(html, "hp-epochs")).toContain('placeholder="30"');
    expect(tag(html, "hp-epochs")).toContain('value=""');
    expect(tag(html, "hp-learning_rate")).toContain('placeholder="0.001"');
    expect(tag(html, "hp-seed")).toContain('placeholder="42"');
    expect(html).toContain("More options");
    expect(tag(html, "hp-warmup_steps")).toContain('placeholder="20"');
    expect(html).not.toContain("param-hidden");
    expect(html).not.toContain('id="job-base"');
  });

  it("fits the kind to the dataset and asks for a base model of the kind's base kind", () => {
    const text = jobForm(ML.kinds, "support");
    expect(text).toContain('<option value="text-classifier" selected="">');
    expect(tag(text, "job-base")).not.toBe("");
    expect(text).toContain('<option value="minilm@production" selected="">minilm@production</option>');
    expect(text).not.toContain("digits@v1");
    // A string choice: the server's default first, then the options, with the effective one explained.
    expect(text).toContain('<option value="" selected="">Default (head)</option><option value="head">head</option><option value="full">full</option>');
    expect(text).toContain("What training updates. Only the classification head.");

    const features = jobForm(ML.kinds, "digits");
    expect(features).toContain('<option value="mlp-classifier" selected="">');
    expect(tag(features, "param-hidden")).toContain('placeholder="128"');
    expect(features).toContain("<legend>MLP classifier settings</legend>");
    expect(features).not.toContain('id="job-base"');
  });

  it("offers nothing to start when the server has no trainable kind", () => {
    const html = jobForm([TEXT_ENCODER], "support");
    expect(html).toContain("The ML service offers no trainable kind");
    expect(html).toMatch(/<button type="submit"[^>]*disabled=""/);
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
