import { defineConfig } from "vitest/config";

export default defineConfig({
  // Under `bazel test` the package is read-only; Bazel hands each test its own scratch directory.
  ...(process.env.TEST_TMPDIR ? { cacheDir: `${process.env.TEST_TMPDIR}/vite` } : {}),
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    // Tests start real HTTP servers on loopback; keep them in one worker on 2-core CI machines.
    fileParallelism: false,
  },
});
