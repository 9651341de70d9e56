import { defineConfig } from "@playwright/test";

/**
 * End-to-end test of the app's web export (`expo export --platform web`, react-native-web) against
 * the real stack (strata-ml, strata-api) that e2e/stack.ts starts on free loopback ports. The
 * browser is the system Chromium at a phone's viewport with touch: nothing is downloaded, and every
 * host name but 127.0.0.1 fails to resolve, so the test cannot reach out.
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
    // An iPhone 15's CSS viewport; screenshots are what a phone shows.
    viewport: { width: 393, height: 852 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
