/**
 * The whole product flow in the browser against the real stack: sign in, upload the digits
 * sample, train a small model while the chart updates, cancel a job, promote the model, classify
 * a drawn digit with it, compare sentences with MiniLM, and see the app say so when the API dies.
 * One browser page and one stack for the file, in order, as a person would click through.
 */
import { expect, test, type Browser, type Page } from "@playwright/test";
import { screenshot } from "./helpers";
import { digitsParquet, E2E_ADMIN_PASSWORD, startStack, type Stack } from "./stack";

test.describe.configure({ mode: "serial" });

let stack: Stack;
let page: Page;

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  stack = await startStack({ withMiniLM: true });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await page?.context().close();
  await stack?.stop();
});

/** Number of points drawn in the job page's loss chart. */
async function lossPoints(): Promise<number> {
  return Number(await page.getByRole("figure").filter({ hasText: "Loss" }).first().getAttribute("data-points"));
}

test("sign-in refuses a wrong password and then lets the admin in", async () => {
  await page.goto(stack.web.url);
  await expect(page).toHaveURL(/\/signin$/);
  await screenshot(page, "signin");

  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert").filter({ hasText: "Wrong user name or password" });
  await expect(alert).toBeVisible();
  // The API's own words (problem+json detail) are shown too.
  await expect(alert.locator(".error-detail")).not.toBeEmpty();
  await screenshot(page, "signin-wrong-password");

  await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.getByTestId("whoami")).toHaveText("admin admin");
  // The token stays out of page scripts' reach.
  expect(await page.evaluate(() => document.cookie)).not.toContain("strata_session");
});

test("upload the digits sample and see its schema and statistics", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Datasets" }).click();
  await expect(page.getByText("No datasets yet.")).toBeVisible();

  // A file that is not Parquet is refused by the ML service with a clear problem.
  await page.getByLabel("Parquet file").setInputFiles({ name: "notes.parquet", mimeType: "application/octet-stream", buffer: Buffer.from("not parquet") });
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("region", { name: "Upload Parquet" }).getByRole("alert")).toContainText(/Invalid|Bad request/);
  await screenshot(page, "datasets-upload-refused");

  await page.getByLabel("Name", { exact: true }).fill("");
  await page.getByLabel("Parquet file").setInputFiles(digitsParquet);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("digits");
  await page.getByLabel("Description").fill("scikit-learn digits, 8x8");
  await page.getByRole("button", { name: "Upload" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Stored" })).toContainText("1,797 rows, 65 columns");
  await expect(page.getByTestId("datasets-table")).toContainText("digits");
  await screenshot(page, "datasets");

  await page.getByTestId("datasets-table").getByRole("link", { name: "digits" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "digits" })).toBeVisible();
  await expect(page.getByTestId("dataset-rows")).toHaveText("1,797");
  await expect(page.getByTestId("dataset-features")).toHaveText("64");
  await expect(page.getByTestId("dataset-classes")).toHaveText("10");
  await expect(page.getByTestId("class-balance").getByRole("listitem")).toHaveCount(10);
  // Pixel intensities of the sample run from 0 to 16; the stats come from the ML service.
  const centre = page.getByTestId("columns-table").getByRole("row", { name: /pixel_4_4/ });
  await expect(centre.getByRole("cell").nth(3)).toHaveText("16");
  await screenshot(page, "dataset-detail");
});

test("train a small model and watch the chart update live until it succeeds", async () => {
  test.setTimeout(240_000);
  await page.getByRole("link", { name: "Train a model on it" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "New training job" })).toBeVisible();
  await expect(page.getByLabel("Model kind")).toHaveValue("mlp-classifier");
  await expect(page.getByLabel("Model name")).toHaveValue("digits");
  // Every field starts blank: the server's defaults apply unless one is typed.
  await expect(page.getByLabel("Epochs")).toHaveValue("");
  // Sized to run for seconds even on a quiet machine (two 256-wide layers are ~18x the work of one
  // 64-wide), so the page sees it running; a single 64-wide layer finished on a quiet CI machine
  // before the page had loaded.
  await page.getByLabel("Epochs").fill("16");
  await page.getByLabel("Batch size").fill("16");
  await page.getByLabel("Learning rate").fill("0.003");
  // The kind's own setting, labelled from the schema the server sends for it.
  await page.getByTestId("kind-parameters").getByLabel("Hidden").fill("256, 256");
  await page.getByLabel("Seed").fill("7");
  // The server stops early by default; every epoch's point is counted below.
  await page.getByText("More options").click();
  await page.getByLabel(/patience/i).fill("0");
  await screenshot(page, "training-new");
  await page.getByRole("button", { name: "Start training" }).click();

  await expect(page).toHaveURL(/\/training\/[^/]+$/);
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Training digits");
  await expect(page.getByTestId("job-state")).toHaveText("Running", { timeout: 60_000 });

  // The chart grows while the job runs: points arrive over the event stream, not at the end.
  await expect.poll(lossPoints, { timeout: 60_000 }).toBeGreaterThan(0);
  const early = await lossPoints();
  await expect(page.getByTestId("job-eta")).not.toHaveText("–");
  await expect.poll(lossPoints, { timeout: 60_000 }).toBeGreaterThan(early);
  await expect(page.getByTestId("job-state")).toHaveText("Running");
  await screenshot(page, "training-live");

  await expect(page.getByTestId("job-state")).toHaveText("Succeeded", { timeout: 180_000 });
  await expect(page.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "100");
  const accuracy = Number((await page.getByTestId("test-accuracy").textContent())?.replace("%", ""));
  expect(accuracy).toBeGreaterThan(85);
  // Every epoch's validation point is drawn.
  await expect(page.locator('[data-series="accuracy"]').first()).toHaveAttribute("data-count", "16");
  await screenshot(page, "training-done");
});

test("cancel a running job", async () => {
  test.setTimeout(120_000);
  await page.goto(`${stack.web.url}/training/new`);
  await page.getByLabel("Model name").fill("digits-long");
  await page.getByLabel("Epochs").fill("500");
  // Without early stopping (on by default) the job is still running when the button is pressed.
  await page.getByText("More options").click();
  await page.getByLabel(/patience/i).fill("0");
  await page.getByRole("button", { name: "Start training" }).click();
  await expect(page.getByTestId("job-state")).toHaveText("Running", { timeout: 60_000 });
  await page.getByRole("button", { name: "Cancel job" }).click();
  await expect(page.getByTestId("job-state")).toHaveText("Cancelled", { timeout: 60_000 });
  await expect(page.getByRole("button", { name: "Cancel job" })).toHaveCount(0);

  await page.goto(`${stack.web.url}/training`);
  const table = page.getByTestId("jobs-table");
  await expect(table.getByRole("row")).toHaveCount(3);
  await expect(table).toContainText("Cancelled");
  await expect(table).toContainText("Succeeded");
  await screenshot(page, "training-jobs");
});

test("see the model's confusion matrix and promote it", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Models" }).click();
  const registry = page.getByTestId("models-table");
  await expect(registry).toContainText("digits");
  await expect(registry).toContainText("minilm");
  await screenshot(page, "models");

  await registry.getByRole("link", { name: "digits", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "digits" })).toBeVisible();
  const matrix = page.getByTestId("confusion-matrix");
  await expect(matrix.locator("tbody tr")).toHaveCount(10);
  await expect(matrix.locator("tbody td")).toHaveCount(100);
  // The matrix counts the test split; the diagonal holds most of it for a good model.
  const cells = await matrix.locator("tbody td").allTextContents();
  const total = cells.reduce((sum, c) => sum + Number(c), 0);
  const diagonal = Array.from({ length: 10 }, (_, i) => Number(cells[i * 11])).reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThan(150);
  expect(diagonal / total).toBeGreaterThan(0.85);

  await expect(page.getByLabel("Alias")).toHaveValue("production");
  await page.getByRole("button", { name: "Promote" }).click();
  await expect(page.getByRole("status").filter({ hasText: "now points at" })).toHaveText("digits@production now points at v1.");
  await expect(page.getByTestId("versions-table")).toContainText("production");
  // A bad alias is explained before anything is sent.
  await page.getByLabel("Alias").fill("v2");
  await page.getByRole("button", { name: "Promote" }).click();
  await expect(page.getByText("`latest` and version names like v2 are reserved.")).toBeVisible();
  await page.getByLabel("Alias").fill("production");
  await screenshot(page, "model");
});

test("classify a drawn digit with the promoted model", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Playground" }).click();
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("digits@production");
  const canvas = page.getByTestId("digit-canvas");
  const box = await canvas.boundingBox();
  if (!box) throw new Error("canvas not laid out");

  // A "1": one firm vertical stroke through the middle.
  const predicted = page.waitForResponse((r) => r.url().includes(":predict") && r.request().method() === "POST");
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.12);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.12 + (0.76 * i) / 20));
  await page.mouse.up();

  const response = await predicted;
  expect(response.status()).toBe(200);
  const sent = response.request().postDataJSON() as { features: number[][] };
  expect(sent.features).toHaveLength(1);
  expect(sent.features[0]).toHaveLength(64);
  expect(sent.features[0]?.every((v) => Number.isInteger(v) && v >= 0 && v <= 16)).toBe(true);
  const answer = (await response.json()) as { model: string; predictions: { label: string }[] };
  expect(answer.model).toBe("digits@v1");
  await expect(page.getByTestId("predicted-digit")).toHaveText(answer.predictions[0]?.label ?? "?");
  await expect(page.getByTestId("predicted-digit")).toHaveText("1");
  await expect(page.getByTestId("digit-probabilities").getByRole("listitem")).toHaveCount(10);
  await expect(page.getByTestId("digit-grid").locator("tbody td")).toHaveCount(64);
  await screenshot(page, "playground-digits");
});

test("compare sentences with the MiniLM text encoder", async () => {
  await page.getByRole("navigation", { name: "Playground" }).getByRole("link", { name: /Embeddings/ }).click();
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("minilm@v1");
  await page.getByRole("button", { name: "Compare" }).click();
  const matrix = page.getByTestId("similarity-matrix");
  await expect(matrix.locator("tbody tr")).toHaveCount(5);
  await expect(page.getByText(/384 dimensions/)).toBeVisible();
  // MiniLM puts the two cat sentences, and the two market sentences, closest together.
  const pairs = page.getByTestId("closest-pairs").getByRole("listitem");
  const top2 = (await pairs.allTextContents()).slice(0, 2).join(" | ");
  expect(top2).toContain("A cat is sleeping on the sofa.");
  expect(top2).toContain("A kitten naps on the couch.");
  expect(top2).toContain("The stock market fell sharply today.");
  await screenshot(page, "playground-embeddings");
});

test("the overview sums up what the flow created", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
  await expect(page.getByTestId("stat-datasets")).toHaveText("1");
  await expect(page.getByTestId("stat-jobs")).toHaveText("2");
  await expect(page.getByTestId("stat-models")).toHaveText("2");
  await expect(page.getByText("Models · 1 promoted")).toBeVisible();
  await expect(page.getByTestId("ml-model-kinds")).toContainText("mlp-classifier");
  await screenshot(page, "overview-after-flow");
});

test("a clear message, not a crash, when the API goes down", async () => {
  await stack.api.kill();
  await page.goto(`${stack.web.url}/models/digits`);
  await expect(page.getByTestId("api-banner")).toContainText("API unreachable");
  await expect(page.getByRole("main").getByRole("alert").first()).toContainText("API unreachable");
  await expect(page.getByRole("heading", { level: 1, name: "digits" })).toBeVisible();
  await screenshot(page, "api-down");
});
