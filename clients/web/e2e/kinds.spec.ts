/**
 * A model kind the web app has no code for, trained from the web form: `text-ngram-classifier` on
 * the support-requests sample, with one of the kind's own settings and a short run, then asked
 * for topics. The form knows the kind only from what `GET /v1/system` says about it, and sends
 * only the fields that were filled in.
 */
import { expect, test } from "@playwright/test";
import { screenshot, signIn, stackPerFile } from "./helpers";
import { supportRequestsParquet } from "./stack";

const stack = stackPerFile();

const TOPICS = ["account", "billing", "shipping", "technical"];

test("train a text-ngram-classifier from the form, with a setting of its own, and predict with it", async ({ page }) => {
  test.setTimeout(240_000);
  await signIn(page, stack, "/datasets");

  // The sample as the demo seeds it: `text` is the input, `topic` the label.
  await page.getByLabel("Parquet file").setInputFiles(supportRequestsParquet);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("support_requests");
  await page.getByLabel("Label column").fill("topic");
  await page.getByText("Schema options").click();
  await page.getByLabel("Text column").fill("text");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Stored" })).toContainText("240 rows, 2 columns");
  await page.getByTestId("datasets-table").getByRole("link", { name: "support_requests" }).click();
  await expect(page.getByTestId("dataset-features")).toHaveText("text: text");
  await page.getByRole("link", { name: "Train a model on it" }).click();

  await expect(page.getByRole("heading", { level: 1, name: "New training job" })).toBeVisible();
  await page.getByLabel("Model kind").selectOption("text-ngram-classifier");
  // It starts from nothing: no base model to choose, and the kind's own settings instead.
  await expect(page.locator("#job-base")).toHaveCount(0);
  const settings = page.getByTestId("kind-parameters");
  await expect(settings).toBeVisible();
  // Blank, with the server's default showing through.
  await expect(settings.getByLabel("Buckets")).toHaveValue("");
  await expect(settings.getByLabel("Buckets")).toHaveAttribute("placeholder", /\d/);
  await page.getByLabel("Model name").fill("topics");
  await settings.getByLabel("Buckets").fill("1024");
  await page.getByLabel("Epochs").fill("10");
  // The step size the ML core's test of this kind trains with; the shared default suits the MLP.
  await page.getByLabel("Learning rate").fill("0.05");
  await screenshot(page, "training-new-ngram");

  const created = page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/v1/training-jobs");
  await page.getByRole("button", { name: "Start training" }).click();
  // Exactly what was typed: every blank field is left to the server's defaults.
  expect((await created).postDataJSON()).toEqual({
    model_name: "topics",
    kind: "text-ngram-classifier",
    dataset_id: expect.any(String),
    hyperparameters: { epochs: 10, learning_rate: 0.05 },
    parameters: { buckets: 1024 },
  });

  await expect(page).toHaveURL(/\/training\/[^/]+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Training topics");
  await expect(page.getByTestId("job-state")).toHaveText("Succeeded", { timeout: 180_000 });
  const jobSettings = page.getByRole("region", { name: "Settings" });
  await expect(jobSettings).toContainText("text-ngram-classifier");
  await expect(jobSettings).toContainText("1024");
  await screenshot(page, "training-done-ngram");

  // The new version answers through the app's own API route, as the playgrounds call it.
  const answer = await page.evaluate(async () => {
    const response = await fetch("/api/v1/models/topics:predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ texts: ["I was charged twice for the same invoice this month", "my package still has not arrived"] }),
    });
    return { status: response.status, body: (await response.json()) as { model: string; predictions: { label: string; probabilities: number[] }[] } };
  });
  expect(answer.status).toBe(200);
  expect(answer.body.model).toBe("topics@v1");
  expect(answer.body.predictions).toHaveLength(2);
  for (const prediction of answer.body.predictions) {
    expect(TOPICS).toContain(prediction.label);
    expect(prediction.probabilities).toHaveLength(4);
  }

  await page.goto(`${stack.web.url}/models/topics`);
  await expect(page.getByTestId("versions-table")).toContainText("text-ngram-classifier");
});
