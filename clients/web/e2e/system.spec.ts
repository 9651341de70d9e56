import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { resultsDir, startStack, type Stack } from "./stack";

// One stack for the file; the tests run in order because later ones take services down.
test.describe.configure({ mode: "serial" });

let stack: Stack;

test.beforeAll(async () => {
  stack = await startStack();
});

test.afterAll(async () => {
  await stack?.stop();
});

/** The ML service card; Next.js adds a role=alert route announcer of its own, so look only here. */
const mlCard = (page: Page) => page.getByRole("region", { name: "ML service" });

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(resultsDir, "screenshots", `${name}.png`), fullPage: true });
}

test("the System page shows what the ML service reports", async ({ page }) => {
  // Ask the API directly, so the page is checked against the running service, not a fixture.
  const direct = await fetch(`${stack.api.url}/v1/system`);
  expect(direct.status).toBe(200);
  const system = (await direct.json()) as {
    api_version: string;
    ml: {
      service: string;
      version: string;
      device: string;
      cuda_compiled: boolean;
      device_note: string;
      model_kinds: string[];
    };
  };

  await page.goto(stack.web.url);
  await expect(page.getByRole("heading", { level: 1, name: "System" })).toBeVisible();
  await expect(mlCard(page).getByText("Online", { exact: true })).toBeVisible();
  await expect(page.getByTestId("ml-service")).toHaveText(system.ml.service);
  await expect(page.getByTestId("ml-version")).toHaveText(system.ml.version);
  await expect(page.getByTestId("ml-device")).toHaveText(system.ml.device);
  await expect(page.getByTestId("ml-cuda")).toHaveText(system.ml.cuda_compiled ? "yes" : "no");
  if (system.ml.device_note) {
    await expect(page.getByTestId("ml-device-note")).toHaveText(system.ml.device_note);
  } else {
    await expect(page.getByTestId("ml-device-note")).toHaveCount(0);
  }
  await expect(page.getByTestId("api-version")).toHaveText(system.api_version);
  await expect(page.getByTestId("ml-uptime")).toHaveText(/^\d+ (s|min|h|d)\b/);
  for (const kind of system.ml.model_kinds) {
    await expect(page.getByTestId("ml-model-kinds")).toContainText(kind);
  }
  await expect(mlCard(page).getByRole("alert")).toHaveCount(0);
  await screenshot(page, "system-online");
});

test("the System page says the ML service is unavailable once strata-ml is gone", async ({ page }) => {
  await stack.ml.kill();

  await page.goto(stack.web.url);
  const alert = mlCard(page).getByRole("alert");
  await expect(alert).toContainText("ML service unavailable");
  await expect(alert).toContainText("Start strata-ml");
  await expect(mlCard(page).getByText("Unavailable", { exact: true })).toBeVisible();
  await expect(page.getByTestId("ml-device")).toHaveCount(0);
  await screenshot(page, "system-ml-unavailable");
});

test("the System page says the API is unreachable once strata-api is gone", async ({ page }) => {
  await stack.api.kill();

  await page.goto(stack.web.url);
  const alert = mlCard(page).getByRole("alert");
  await expect(alert).toContainText("API unreachable");
  await expect(alert).toContainText("STRATA_API_URL");
  await screenshot(page, "system-api-unreachable");
});
