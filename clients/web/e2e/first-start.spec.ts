/**
 * A new user's first five minutes: a fresh data directory, the stack started as `tools/dev/run`
 * starts it (demo content on, the generated admin password in a 0600 file), sign in with that
 * password, and the overview already shows datasets, models and what to try, with each
 * playground answering with the demo models. Nothing is uploaded or trained by hand.
 */
import { readFile, stat } from "node:fs/promises";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { screenshot } from "./helpers";
import { startStack, type Stack } from "./stack";

test.describe.configure({ mode: "serial" });

let stack: Stack;
let page: Page;

test.beforeAll(async ({ browser }: { browser: Browser }) => {
  stack = await startStack({ demo: true });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await page?.context().close();
  await stack?.stop();
});

test("sign in with the generated password from its 0600 file", async () => {
  const info = await stat(stack.adminPasswordFile);
  expect(info.mode & 0o777).toBe(0o600);
  const password = (await readFile(stack.adminPasswordFile, "utf8")).trim();
  expect(password.length).toBeGreaterThanOrEqual(12);

  await page.goto(stack.web.url);
  await expect(page).toHaveURL(/\/signin$/);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
});

test("the overview shows the demo content and what to try next", async () => {
  // Seeding trains two models (digits in seconds, the support-topics head on MiniLM a little longer).
  test.setTimeout(300_000);
  const panel = page.getByRole("region", { name: "Getting started" });
  await expect(panel).toBeVisible();
  const inventory = panel.getByRole("list", { name: "Models and running jobs" });
  for (const model of ["digits", "minilm", "support-topics"]) {
    await expect(inventory.getByRole("listitem").filter({ hasText: model }).filter({ hasText: "production →" })).toBeVisible({
      timeout: 240_000,
    });
  }
  await expect(page.getByTestId("stat-datasets")).toHaveText("2");
  await expect(page.getByTestId("stat-jobs")).toHaveText("2");
  await expect(page.getByTestId("stat-models")).toHaveText("3");
  await expect(page.getByText("Models · 3 promoted")).toBeVisible();
  // The commands name this stack's API and the promoted models.
  const curl = panel.getByLabel("curl commands");
  await expect(curl).toContainText(`API='${stack.api.url}'`);
  await expect(curl).toContainText("minilm@production");
  await expect(curl).toContainText("digits@production:predict");
  await expect(panel.getByLabel("TypeScript client example")).toContainText("createStrataClient");
  await screenshot(page, "first-start-overview");
});

test("the demo jobs are ordinary jobs with their events", async () => {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Training" }).click();
  await expect(page.getByRole("link", { name: /digits/ }).first()).toBeVisible();
  await expect(page.getByRole("link", { name: /support-topics/ }).first()).toBeVisible();
  await screenshot(page, "first-start-training");
});

test("the digits playground answers with the demo model", async () => {
  await page.goto(`${stack.web.url}/playground/digits`);
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("digits@production");
  const canvas = page.getByTestId("digit-canvas");
  const box = await canvas.boundingBox();
  if (!box) throw new Error("canvas not laid out");
  const predicted = page.waitForResponse((r) => r.url().includes(":predict") && r.request().method() === "POST");
  // A "1": one firm vertical stroke through the middle.
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.12);
  await page.mouse.down();
  for (let i = 1; i <= 20; i++) await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * (0.12 + (0.76 * i) / 20));
  await page.mouse.up();
  expect((await predicted).status()).toBe(200);
  await expect(page.getByTestId("predicted-digit")).toHaveText("1");
  await screenshot(page, "first-start-digits");
});

test("the embeddings playground answers with the demo encoder", async () => {
  await page.goto(`${stack.web.url}/playground/embeddings`);
  await expect(page.getByLabel("Model", { exact: true })).toHaveValue("minilm@production");
  await page.getByRole("button", { name: "Compare" }).click();
  await expect(page.getByTestId("similarity-matrix").locator("tbody tr")).toHaveCount(5);
  await screenshot(page, "first-start-embeddings");
});

test("the panel can be dismissed and brought back", async () => {
  await page.goto(stack.web.url);
  const panel = page.getByRole("region", { name: "Getting started" });
  await panel.getByRole("button", { name: "Dismiss getting started" }).click();
  await expect(panel).toBeHidden();
  await page.reload();
  await expect(page.getByRole("region", { name: "Getting started" })).toBeHidden();
  await page.getByRole("button", { name: "Show getting started" }).click();
  await expect(page.getByRole("region", { name: "Getting started" })).toBeVisible();
});
