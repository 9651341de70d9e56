import { join } from "node:path";
import { expect, type Page } from "@playwright/test";
import { E2E_ADMIN_PASSWORD, resultsDir, type Stack } from "./stack";

/** Full-page screenshot kept as a test artifact (test-results/screenshots, git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(resultsDir, "screenshots", `${name}.png`), fullPage: true });
}

/** Signs in through the form (as the stack's bootstrap admin unless told) and waits for `next`. */
export async function signIn(page: Page, stack: Stack, next = "/", user = "admin", password = E2E_ADMIN_PASSWORD): Promise<void> {
  await page.goto(`${stack.web.url}${next}`);
  await expect(page).toHaveURL(/\/signin/);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toContainText(user);
}
