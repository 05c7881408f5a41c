import { defineConfig } from "vitest/config";

// Test files share one MariaDB server and two cores: run files in parallel forks, but few.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite kills and restarts services, the HA suite runs a Galera cluster: each runs
    // alone, via `npm run test:faults` and `npm run test:ha`.
    exclude: ["test/faults/**", "test/ha/**", "node_modules/**"],
    // The tests' MariaDB: the running one, or a private one started for the run.
    globalSetup: ["test/helpers/database-server.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
