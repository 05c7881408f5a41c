import { defineConfig } from "vitest/config";

// The fault suite (npm run test:faults): each file runs the service as child processes that it
// kills, cuts off and restarts, so files run one at a time and get long timeouts.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    // The tests' MariaDB: the running one, or a private one started for the run.
    globalSetup: ["test/helpers/database-server.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
