// `npm start` on a machine with no database configured: when DATABASE_URL is unset and nothing
// answers on 127.0.0.1:3306, the service runs a private MariaDB of its own (data under
// ./.data/mariadb), stopped with the service; where MariaDB is not installed it stops at once
// with the command that installs it.
import path from "node:path";
import type { Logger } from "../lib/log.js";
import { packageRoot } from "../lib/package-root.js";
export type { PrivateMariaDb } from "../db/private-mariadb.js";
import { answers, INSTALL_MARIADB, mariadbBinaries, startPrivateMariaDb, type PrivateMariaDb } from "../db/private-mariadb.js";

/**
 * Sets `env.DATABASE_URL` to a private server's database when none is configured or running;
 * resolves to that server (to stop with the service), or undefined when there is nothing to do.
 */
export async function provideLocalDatabase(
  env: NodeJS.ProcessEnv,
  log: Logger,
  { port = 3306, dataDir = path.join(packageRoot(), ".data", "mariadb") } = {},
): Promise<PrivateMariaDb | undefined> {
  if (env.DATABASE_URL || (await answers("127.0.0.1", port))) return undefined;
  if (!mariadbBinaries()) {
    throw new Error(
      `no DATABASE_URL and nothing answers on 127.0.0.1:${port}; MariaDB is not installed: run \`${INSTALL_MARIADB}\` (as root), or set DATABASE_URL`,
    );
  }
  const server = await startPrivateMariaDb(dataDir);
  env.DATABASE_URL = `${server.serverUrl}email_outbox`;
  log.info({ dataDir, url: server.serverUrl }, `no DATABASE_URL and nothing on 127.0.0.1:${port}: started a private MariaDB server`);
  return server;
}
