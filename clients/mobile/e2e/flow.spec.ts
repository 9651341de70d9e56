/**
 * The main flow of the mobile app on its web export, against the real stack: sign in, the model
 * registry, the embeddings playground on MiniLM, and a running training job's live view until it
 * succeeds, then the digits playground on the model that job made. Screenshots of each screen at a
 * phone's viewport go to test-results/screenshots (CI keeps them as artifacts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createStrataClient } from "@strata/client";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { digitsParquet, E2E_ADMIN_PASSWORD, resultsDir, startStack, type Stack } from "./stack";

test.describe.configure({ mode: "serial" });

let stack: Stack;
let page: Page;

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(resultsDir, "screenshots", `${name}.png`) });
}

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  test.setTimeout(180_000);
  stack = await startStack();
  const context = await browser.newContext({ viewport: { width: 393, height: 852 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  page = await context.newPage();
});

test.afterAll(async () => {
  await page?.context().close();
  await stack?.stop();
});

test("sign in: a wrong password is refused in plain words, the right one opens the app", async () => {
  await page.goto(stack.app.url);
  await expect(page.getByRole("heading", { name: "Sign in to strata" })).toBeVisible();
  await page.getByLabel("API address").fill(stack.api.url);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await screenshot("sign-in");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("The user name or password is wrong.")).toBeVisible();
  await screenshot("sign-in-error");

  await page.getByLabel("Password").fill(E2E_ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toHaveText("admin");
});

test("models: the registry lists MiniLM; its page shows the version", async () => {
  const card = page.getByRole("button", { name: "Model minilm" });
  await expect(card).toBeVisible();
  await expect(card).toContainText("1 version · text-encoder · latest v1");
  await screenshot("models");
  await card.click();
  await expect(page.getByTestId("version-v1")).toContainText("text-encoder");
  await expect(page.getByTestId("aliases")).toContainText("No aliases.");
  await screenshot("model");
  await page.getByRole("button", { name: "Back" }).click();

  // Dark mode follows the system setting (prefers-color-scheme on the web).
  await page.emulateMedia({ colorScheme: "dark" });
  await expect(page.getByRole("button", { name: "Model minilm" })).toBeVisible();
  await screenshot("models-dark");
  await page.emulateMedia({ colorScheme: "light" });
});

test("embeddings playground: sentences about the same thing score closer", async () => {
  await page.getByRole("tab", { name: "Playgrounds" }).click();
  await page.getByRole("button", { name: "Embeddings playground" }).click();
  await expect(page.getByRole("radio", { name: "minilm" })).toHaveAttribute("aria-checked", "true");
  await page.getByLabel("Sentences, one per line").fill("How do I reset my password?\nThe invoice total looks wrong.\nI forgot my login credentials.");
  await page.getByRole("button", { name: "Compare" }).click();
  const card = page.getByTestId("similarities");
  await expect(card).toContainText("(minilm@v1)");
  const [first, second] = await card.getByTestId("similarity-score").allTextContents();
  // Sorted most similar first: the login sentence leads, and by a clear margin.
  const text = (await card.textContent()) ?? "";
  expect(text).toContain("I forgot my login credentials.");
  expect(text.indexOf("I forgot my login credentials.")).toBeLessThan(text.indexOf("The invoice total looks wrong."));
  expect(Number(first) - Number(second)).toBeGreaterThan(0.2);
  await screenshot("embeddings");
});

test("training: a running job's live view follows its events until it succeeds", async () => {
  test.setTimeout(300_000);
  // The job is queued through the same client the app uses, as a trainer would from the web app.
  const client = createStrataClient({ baseUrl: stack.api.url });
  const { access_token } = await client.createToken({ username: "admin", password: E2E_ADMIN_PASSWORD });
  client.setToken(access_token);
  const dataset = await client.uploadDataset(
    { name: "digits", schema: { label_column: "label" } },
    { data: new Blob([readFileSync(digitsParquet)]), fileName: "digits.parquet" },
  );
  // Sized like the web e2e's job: seconds of training even on a quiet machine, so it is seen running.
  const job = await client.createTrainingJob({
    dataset_id: dataset.id,
    kind: "mlp-classifier",
    model_name: "digits",
    // Every epoch, as the web e2e's job: the server would otherwise stop early by default.
    hyperparameters: { epochs: 16, batch_size: 16, learning_rate: 0.003, seed: 7, early_stopping_patience: 0 },
    parameters: { hidden: [256, 256] },
  });

  await page.getByRole("tab", { name: "Training" }).click();
  const row = page.getByRole("button", { name: /^Job digits, / });
  await expect(row).toBeVisible();
  await screenshot("training-jobs");
  await row.click();

  await expect(page.getByRole("heading", { name: "Training digits" })).toBeVisible();
  await expect(page.getByTestId("job-state")).toHaveText("Running", { timeout: 60_000 });
  await expect(page.getByTestId("job-connection")).toHaveText("Live");
  const points = async () => Number((await page.getByTestId("loss-chart").getAttribute("aria-label"))?.match(/(\d+) points/)?.[1] ?? 0);
  await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(0);
  const early = await points();
  await expect.poll(points, { timeout: 60_000 }).toBeGreaterThan(early);
  await screenshot("training-live");

  await expect(page.getByTestId("job-state")).toHaveText("Succeeded", { timeout: 240_000 });
  await expect(page.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByTestId("job-connection")).toHaveText("Finished");
  const accuracy = Number((await page.getByTestId("job-accuracy").textContent())?.replace("%", ""));
  expect(accuracy).toBeGreaterThan(85);
  await expect(page.getByText(`digits@${(await client.getTrainingJob(job.id)).model_version}`)).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel job" })).toHaveCount(0);
  await screenshot("training-done");
});

test("digits playground: a digit drawn with the pointer is read by the model just trained", async () => {
  await page.getByRole("tab", { name: "Playgrounds" }).click();
  await page.getByRole("button", { name: "Back" }).click();
  await page.getByRole("button", { name: "Digits playground" }).click();
  await expect(page.getByRole("radio", { name: "digits" })).toHaveAttribute("aria-checked", "true");
  const pad = page.getByLabel("Drawing area: draw a digit with your finger");
  const box = await pad.boundingBox();
  if (!box) throw new Error("the drawing area is not on screen");
  // A "1": one vertical stroke down the middle.
  await page.mouse.move(box.x + box.width / 2, box.y + 30);
  await page.mouse.down();
  for (let y = 30; y <= box.height - 30; y += 10) await page.mouse.move(box.x + box.width / 2, box.y + y);
  await page.mouse.up();
  await page.getByRole("button", { name: "Read digit" }).click();
  const card = page.getByTestId("digit-prediction");
  // The same stroke the web app's e2e draws, read the same way (its model, seed and data are too).
  await expect(card).toContainText("It reads 1");
  await expect(card).toContainText("digits@v1");
  await screenshot("digits");
});

test("signing out forgets the token and keeps the address", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByLabel("API address")).toHaveValue(stack.api.url);
  await expect(page.getByLabel("Password")).toHaveValue("");
});
