import { fireEvent, screen, waitFor } from "@testing-library/react-native";
import { JobScreen } from "../src/screens/JobScreen";
import { eventStream, json, problem, recordApi, renderScreen, renderSignedIn, sse } from "./api";

const job = (state: string, step: number, extra: Record<string, unknown> = {}) => ({
  id: "job-1",
  kind: "mlp-classifier",
  model_name: "digits",
  dataset_id: "ds-1",
  hyperparameters: { epochs: 4 },
  parameters: {},
  state,
  created_at: "2026-12-06T19:00:00Z",
  progress: { epoch: Math.ceil(step / 10), total_epochs: 4, step, total_steps: 40, train_loss: 2 / (step + 1), eta_seconds: 40 - step, examples_per_second: 900 },
  ...extra,
});

async function openJob() {
  await screen.findByRole("tab", { name: "Training" });
  fireEvent.press(screen.getByRole("tab", { name: "Training" }));
  fireEvent.press(await screen.findByRole("button", { name: "Job digits, Running" }));
}

test("the jobs list shows each job's state and progress", async () => {
  recordApi({
    "GET /v1/models": () => json({ models: [] }),
    "GET /v1/training-jobs": () => json({ jobs: [job("running", 10), { ...job("succeeded", 40), id: "job-0", model_name: "digits-old" }] }),
  });
  await renderSignedIn();
  fireEvent.press(screen.getByRole("tab", { name: "Training" }));
  expect(await screen.findByText("digits · Running · 25%")).toBeTruthy();
  expect(screen.getByText("digits-old · Succeeded")).toBeTruthy();
  expect(screen.getByRole("tab", { name: "Training" })).toBeSelected();
});

test("the live view follows the event stream, resumes with Last-Event-ID after a drop, and ends with the job", async () => {
  let connection = 0;
  const api = recordApi({
    "GET /v1/models": () => json({ models: [] }),
    "GET /v1/training-jobs": () => json({ jobs: [job("running", 10)] }),
    "GET /v1/training-jobs/job-1/events": () => {
      connection += 1;
      // The first connection drops after two events (a phone switching networks, say).
      if (connection === 1) return eventStream([sse({ sequence: 1, kind: "state", job: job("running", 0) }), sse({ sequence: 2, kind: "progress", job: job("running", 10) })]);
      return eventStream([
        sse({ sequence: 3, kind: "progress", job: job("running", 30) }),
        sse({ sequence: 4, kind: "state", job: job("succeeded", 40, { model_version: "v3", test_metrics: { accuracy: 0.955, macro_f1: 0.95, loss: 0.1, confusion_matrix: [] } }) }),
      ]);
    },
    // Asked when a stream ends without a terminal event: still running, so reconnect.
    "GET /v1/training-jobs/job-1": () => json(job("running", 10)),
  });
  await renderSignedIn();
  await openJob();

  expect(await screen.findByText("Training digits")).toBeTruthy();
  await waitFor(() => expect(screen.getByTestId("job-state")).toHaveTextContent("Succeeded"), { timeout: 20_000 });
  expect(screen.getByTestId("job-progress")).toHaveAccessibilityValue({ now: 100 });
  expect(screen.getByTestId("job-accuracy")).toHaveTextContent("95.5%");
  expect(screen.getByText("digits@v3")).toBeTruthy();
  expect(screen.getByTestId("job-connection")).toHaveTextContent("Finished");
  // Both progress events, one from each connection, made it to the chart: none lost or repeated.
  expect(screen.getByTestId("loss-chart")).toHaveProp("accessibilityLabel", expect.stringContaining("2 points"));
  expect(screen.queryByRole("button", { name: "Cancel job" })).toBeNull();

  const streams = api.calls("GET", "/v1/training-jobs/job-1/events");
  expect(streams).toHaveLength(2);
  expect(streams[0]?.headers.get("last-event-id")).toBeNull();
  expect(streams[1]?.headers.get("last-event-id")).toBe("2");
  expect(streams[1]?.headers.get("authorization")).toBe("Bearer token-1");
}, 60_000);

test("a running job shows its progress and can be cancelled", async () => {
  const api = recordApi({
    "GET /v1/training-jobs/job-1/events": () => eventStream([sse({ sequence: 1, kind: "progress", job: job("running", 20) })], { hang: true }),
    "POST /v1/training-jobs/job-1:cancel": () => problem(403, "Forbidden", "cancelling needs the trainer role"),
  });
  await renderScreen(<JobScreen id="job-1" />);
  expect(await screen.findByTestId("job-epoch")).toHaveTextContent("2 of 4");
  expect(screen.getByTestId("job-connection")).toHaveTextContent("Live");
  expect(screen.getByTestId("job-progress")).toHaveAccessibilityValue({ now: 50 });
  fireEvent.press(screen.getByRole("button", { name: "Cancel job" }));
  expect(await screen.findByText("Your account is not allowed to do that. cancelling needs the trainer role.")).toBeTruthy();
  expect(api.calls("POST", "/v1/training-jobs/job-1:cancel")).toHaveLength(1);
});

test("a job that does not exist stops the view with the API's words, without retrying", async () => {
  const api = recordApi({ "GET /v1/training-jobs/nope/events": () => problem(404, "Not Found", "no training job nope") });
  await renderScreen(<JobScreen id="nope" />);
  expect(await screen.findByText("Not found. no training job nope.")).toBeTruthy();
  expect(screen.getByTestId("job-connection")).toHaveTextContent("Stopped");
  expect(api.calls("GET", "/v1/training-jobs/nope/events")).toHaveLength(1);
});
