import { defineConfig } from "vitest/config";

// One vitest run covers every workspace. The global setup gives the run its own
// Postgres database and BullMQ queue prefix, so concurrent runs never share data.
export default defineConfig({
  test: {
    include: ["packages/*/src/**/*.test.ts", "services/*/src/**/*.test.ts", "tests/**/*.test.ts", "bench/src/**/*.test.ts"],
    globalSetup: ["./packages/testing/src/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default"],
  },
});
