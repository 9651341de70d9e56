import { expect, test, type Page } from "@playwright/test";
import { screenshot, signIn, stackPerFile } from "./helpers";

// The tests run in order because later ones take services down.
const stack = stackPerFile();

/** The ML service card; Next.js adds a role=alert route announcer of its own, so look only here. */
const mlCard = (page: Page) => page.getByRole("region", { name: "ML service" });

test("an admin adds a user and an API key, which work until they are removed", async ({ page }) => {
  await signIn(page, stack, "/access");
  await expect(page.getByRole("heading", { level: 1, name: "Access" })).toBeVisible();
  const table = page.getByTestId("principals-table");
  await expect(table.getByRole("row", { name: /admin/ })).toBeVisible();

  // The form explains a too-short password before anything is sent.
  const userForm = page.getByRole("region", { name: "Add a user" });
  await userForm.getByLabel("User name").fill("ann");
  await userForm.getByLabel("Initial password").fill("short");
  await userForm.getByRole("button", { name: "Add user" }).click();
  await expect(userForm.getByText("At least 12 characters")).toBeVisible();
  await userForm.getByLabel("Initial password").fill("ann-password-123");
  await userForm.getByLabel("Role").selectOption("trainer");
  await userForm.getByRole("button", { name: "Add user" }).click();
  await expect(table.getByRole("row", { name: /ann/ })).toContainText("trainer");
  // A taken name is the API's 409, shown as it says it.
  await userForm.getByLabel("User name").fill("ann");
  await userForm.getByLabel("Initial password").fill("ann-password-123");
  await userForm.getByRole("button", { name: "Add user" }).click();
  await expect(userForm.getByRole("alert")).toContainText("already exists");

  const keyForm = page.getByRole("region", { name: "Create an API key" });
  await keyForm.getByLabel("Key name").fill("ci-pipeline");
  await keyForm.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("created-api-key").innerText()).trim();
  expect(key).toMatch(/^strata_[0-9a-f]{64}$/);
  await expect(table.getByRole("row", { name: /ci-pipeline/ })).toContainText("API key");
  await screenshot(page, "access");

  // The key and the new user sign in against the real API.
  const exchange = (body: object) =>
    fetch(`${stack.api.url}/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  expect((await exchange({ api_key: key })).status).toBe(200);
  expect((await exchange({ username: "ann", password: "ann-password-123" })).status).toBe(200);

  page.on("dialog", (dialog) => void dialog.accept());
  await page.getByRole("button", { name: "Remove API key ci-pipeline" }).click();
  await expect(table.getByRole("row", { name: /ci-pipeline/ })).toHaveCount(0);
  expect((await exchange({ api_key: key })).status).toBe(401);
  // The last admin cannot be removed; the API's reason is shown.
  await page.getByRole("button", { name: "Remove user admin" }).click();
  await expect(page.getByRole("region", { name: "Users and API keys" }).getByRole("alert")).toContainText("last admin");
});

test("an admin sets a user's password; the user changes it again and stays signed in", async ({ page, browser }) => {
  const exchange = (password: string) =>
    fetch(`${stack.api.url}/v1/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "ann", password }),
    }).then((r) => r.status);
  // `ann` from the test above, with her initial password.
  expect(await exchange("ann-password-123")).toBe(200);

  await signIn(page, stack, "/access");
  const reset = page.getByRole("region", { name: "Set a password" });
  await reset.getByLabel("User").selectOption("ann");
  await reset.getByLabel("New password").fill("short");
  await reset.getByRole("button", { name: "Set password" }).click();
  await expect(reset.getByText("At least 12 characters")).toBeVisible();
  await reset.getByLabel("New password").fill("set-by-the-admin-1");
  await reset.getByRole("button", { name: "Set password" }).click();
  await expect(reset.getByRole("status")).toContainText("Password of ann set");
  expect(await exchange("ann-password-123")).toBe(401);

  // Ann, in a browser of her own, changes it on her account page.
  const context = await browser.newContext();
  const ann = await context.newPage();
  await signIn(ann, stack, "/account", "ann", "set-by-the-admin-1");
  const form = ann.getByRole("region", { name: "Change your password" });
  await form.getByLabel("Current password").fill("not-my-password");
  await form.getByLabel("New password", { exact: true }).fill("anns-own-password-1");
  await form.getByLabel("Repeat the new password").fill("anns-own-password-2");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("The two new passwords differ")).toBeVisible();
  await form.getByLabel("Repeat the new password").fill("anns-own-password-1");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("alert")).toContainText("Wrong current password");
  await form.getByLabel("Current password").fill("set-by-the-admin-1");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("status")).toContainText("Password changed");
  await screenshot(ann, "account");
  expect(await exchange("set-by-the-admin-1")).toBe(401);
  expect(await exchange("anns-own-password-1")).toBe(200);
  // This browser signed in again with the new password: a reload still knows her.
  await ann.reload();
  await expect(ann.getByTestId("whoami")).toContainText("ann");
  await context.close();
});

test("the overview shows what the ML service reports", async ({ page }) => {
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

  await signIn(page, stack);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
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
  // A fresh stack: nothing stored yet, and the counts say so.
  await expect(page.getByTestId("stat-datasets")).toHaveText("0");
  await expect(page.getByTestId("stat-models")).toHaveText("0");
  await expect(mlCard(page).getByRole("alert")).toHaveCount(0);
  await expect(page.getByTestId("api-banner")).toHaveCount(0);
  await screenshot(page, "overview");
});

test("without a session, pages send you to sign-in and back", async ({ page }) => {
  await page.goto(`${stack.web.url}/models`);
  await expect(page).toHaveURL(/\/signin\?next=%2Fmodels$/);
  await signIn(page, stack, "/models");
  await expect(page).toHaveURL(`${stack.web.url}/models`);
  // Signing out ends the session: the next page asks again.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto(`${stack.web.url}/datasets`);
  await expect(page).toHaveURL(/\/signin\?next=%2Fdatasets$/);
});

test("the overview says the ML service is unavailable once strata-ml is gone", async ({ page }) => {
  await signIn(page, stack);
  await stack.ml.kill();

  await page.reload();
  const alert = mlCard(page).getByRole("alert");
  await expect(alert).toContainText("ML service unavailable");
  await expect(alert).toContainText("Start strata-ml");
  await expect(mlCard(page).getByText("Unavailable", { exact: true })).toBeVisible();
  await expect(page.getByTestId("ml-device")).toHaveCount(0);
  await expect(page.getByTestId("api-banner")).toContainText("ML service unavailable");
  await screenshot(page, "overview-ml-unavailable");
});

test("every page says the API is unreachable once strata-api is gone", async ({ page }) => {
  await signIn(page, stack);
  await stack.api.kill();

  await page.reload();
  const alert = mlCard(page).getByRole("alert");
  await expect(alert).toContainText("API unreachable");
  await expect(alert).toContainText("STRATA_API_URL");
  await expect(page.getByTestId("api-banner")).toContainText("API unreachable");
  await screenshot(page, "overview-api-unreachable");

  await page.goto(`${stack.web.url}/models`);
  await expect(page.getByTestId("api-banner")).toContainText("API unreachable");
  await expect(page.getByRole("region", { name: "Registry" }).getByRole("alert")).toContainText("API unreachable");
  await screenshot(page, "models-api-unreachable");

  // Signing in needs the API too, and says so instead of failing silently.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("Password").fill("whatever");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "API unreachable" })).toBeVisible();
  await screenshot(page, "signin-api-unreachable");
});
