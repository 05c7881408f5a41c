import { defineConfig } from "vitest/config";

// npm run test:ha: the service on a 3-node MariaDB Galera cluster behind HAProxy, with the
// writer node killed under load. The cluster is started by the test itself (test/helpers/galera.ts).
export default defineConfig({
  test: {
    include: ["test/ha/**/*.test.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
