import { defineConfig } from "@playwright/test";

/**
 * End-to-end tests against the real stack (strata-ml, strata-api, the built standalone app), all
 * started by e2e/stack.ts on free loopback ports. The browser is the system Chromium: nothing is
 * downloaded, and every host name but 127.0.0.1 fails to resolve, so a test cannot reach out.
 */
export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1100, height: 720 },
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        // Chromium's own background traffic (updates, sync, metrics) has nowhere to go here.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
