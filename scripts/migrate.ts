// npm run migrate: creates the database if missing and applies pending migrations, then exits
// (for deploy pipelines that migrate before rolling out). Needs only DATABASE_URL.
import { DEFAULT_DATABASE_URL } from "../src/config/config.js";
import { createLogger } from "../src/lib/log.js";
import { createPool, ensureDatabase, parseDatabaseUrl } from "../src/db/pool.js";
import { migrate } from "../src/db/migrate.js";

const log = createLogger();
const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;

async function run(): Promise<void> {
  const { database } = parseDatabaseUrl(url);
  await ensureDatabase(url);
  const pool = createPool(url, 1);
  try {
    const applied = await migrate(pool);
    log.info({ database, applied }, applied.length ? "migrations applied" : "schema up to date");
  } finally {
    await pool.end();
  }
}

run().catch((err: unknown) => {
  // mysql2 messages name the host and user at most, never the password.
  log.fatal({ err: (err as Error).message, code: (err as { code?: string }).code }, "migration failed");
  process.exitCode = 1;
});
