import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { E2E_ADMIN_PASSWORD, resultsDir, startStack, type Stack, type StackOptions } from "./stack";

/**
 * One stack for the whole spec file, started before its first test and stopped after its last;
 * the file's tests run in order, as they share it. Call at the top level of the file.
 */
export function stackPerFile(options: StackOptions = {}): Stack {
  let started: Stack | undefined;
  test.describe.configure({ mode: "serial" });
  test.beforeAll(async () => {
    started = await startStack(options);
  });
  test.afterAll(async () => {
    await started?.stop();
  });
  const get = (): Stack => {
    if (!started) throw new Error("the stack starts in beforeAll");
    return started;
  };
  return {
    get ml() {
      return get().ml;
    },
    get api() {
      return get().api;
    },
    get web() {
      return get().web;
    },
    get adminPasswordFile() {
      return get().adminPasswordFile;
    },
    stop: () => get().stop(),
  };
}

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
