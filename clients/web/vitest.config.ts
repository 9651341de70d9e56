import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    environment: "node",
    // Tests start real HTTP servers on loopback; one worker keeps 2-core CI machines responsive.
    fileParallelism: false,
  },
});
