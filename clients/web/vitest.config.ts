import { defineConfig } from "vitest/config";

export default defineConfig({
  // Under `bazel test` the package is read-only; Bazel hands each test its own scratch directory.
  ...(process.env.TEST_TMPDIR ? { cacheDir: `${process.env.TEST_TMPDIR}/vite` } : {}),
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    environment: "node",
    // Tests start real HTTP servers on loopback; one worker keeps 2-core CI machines responsive.
    fileParallelism: false,
  },
});
