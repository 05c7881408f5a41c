// vitest globalSetup: the tests' MariaDB. TEST_DATABASE_SERVER_URL when set, else the server on
// 127.0.0.1:3306, else a private server of the suite's own (data under .data/mariadb-test) that
// stops when the run ends, so `npm test` needs no database set up by hand.
import path from "node:path";
import { answers, startPrivateMariaDb } from "../../src/db/private-mariadb.js";
import { packageRoot } from "../../src/lib/package-root.js";

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TEST_DATABASE_SERVER_URL || (await answers("127.0.0.1", 3306))) return undefined;
  const server = await startPrivateMariaDb(path.join(packageRoot(), ".data", "mariadb-test"));
  // Test workers are forked after this: they inherit it.
  process.env.TEST_DATABASE_SERVER_URL = server.serverUrl;
  console.log(`no MariaDB on 127.0.0.1:3306: the tests use a private server at ${server.serverUrl}`);
  return () => server.stop();
}
