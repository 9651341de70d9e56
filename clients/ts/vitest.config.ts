import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    // Tests start real HTTP servers on loopback; keep them in one worker on 2-core CI machines.
    fileParallelism: false,
  },
});
