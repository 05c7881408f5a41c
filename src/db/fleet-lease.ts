// Fleet leases: one row per role in `fleet_lease` (maintenance, an account's IMAP ingest,
// migrations), held by one instance until its expiry on the database's clock. Taken and renewed
// with conditional UPDATEs, so they work wherever rows replicate — a Galera cluster included,
// where named locks are granted by each node on its own. Each change of holder moves
// the token on; a holder's writes are fenced by it (`fenceLease`), so a paused holder whose lease
// moved on cannot act.
import type { Queryable } from "./pool.js";
import { exec, select } from "./query.js";

/** Created by migrate() before any migration runs: the migrations themselves take a lease. */
export const CREATE_FLEET_LEASE = `CREATE TABLE IF NOT EXISTS fleet_lease (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  owner VARCHAR(128) NOT NULL,
  token BIGINT UNSIGNED NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  fenced_at DATETIME(6) NULL
) ENGINE = InnoDB`;

export interface Lease {
  name: string;
  owner: string;
  /** Moves on each time the lease changes hands. */
  token: number;
}

export class LeaseLostError extends Error {
  constructor(name: string) {
    super(`fleet lease ${name} is no longer held by this instance`);
  }
}

/**
 * Takes the lease when it is free or expired (a new token), or renews it when `held` is still
 * this holder's. Resolves to the lease held now, or undefined when another instance holds it.
 */
export async function takeOrRenewLease(
  db: Queryable,
  name: string,
  owner: string,
  ttlMs: number,
  held?: Lease,
): Promise<Lease | undefined> {
  const ttlUs = Math.round(ttlMs * 1000);
  if (held) {
    // The token is unchanged only while nobody took the lease over: renewing it then is safe even
    // past its expiry.
    const renewed = await exec(
      db,
      "UPDATE fleet_lease SET expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE name = ? AND owner = ? AND token = ?",
      [ttlUs, name, owner, held.token],
    );
    return renewed.affectedRows === 1 ? held : undefined;
  }
  const inserted = await exec(
    db,
    "INSERT IGNORE INTO fleet_lease (name, owner, token, expires_at) VALUES (?, ?, 1, NOW(6) + INTERVAL ? MICROSECOND)",
    [name, owner, ttlUs],
  );
  if (inserted.affectedRows !== 1) {
    const taken = await exec(
      db,
      "UPDATE fleet_lease SET owner = ?, token = token + 1, expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE name = ? AND expires_at < NOW(6)",
      [owner, ttlUs, name],
    );
    if (taken.affectedRows !== 1) return undefined;
  }
  const rows = await select<{ token: number | string }>(db, "SELECT token FROM fleet_lease WHERE name = ? AND owner = ?", [name, owner]);
  return rows[0] ? { name, owner, token: Number(rows[0].token) } : undefined;
}

/** Gives the lease up at once (the next taker need not wait for its expiry). */
export async function releaseLease(db: Queryable, lease: Lease): Promise<void> {
  await db.query("UPDATE fleet_lease SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE name = ? AND owner = ? AND token = ?", [
    lease.name,
    lease.owner,
    lease.token,
  ]);
}

/**
 * Inside the caller's transaction: writes the lease row if the lease is still this holder's and
 * unexpired, else throws LeaseLostError (the caller rolls back). The write puts the row in the
 * transaction's lock (one server) and write set (Galera certification), so a takeover and the
 * fenced work cannot both commit.
 */
export async function fenceLease(db: Queryable, lease: Lease): Promise<void> {
  const fenced = await exec(
    db,
    "UPDATE fleet_lease SET fenced_at = NOW(6) WHERE name = ? AND owner = ? AND token = ? AND expires_at >= NOW(6)",
    [lease.name, lease.owner, lease.token],
  );
  if (fenced.affectedRows !== 1) throw new LeaseLostError(lease.name);
}

/** The holders as the database sees them (for tests and operators). */
export async function listLeases(db: Queryable): Promise<{ name: string; owner: string; token: number; live: boolean }[]> {
  const rows = await select<{ name: string; owner: string; token: number | string; live: number }>(
    db,
    "SELECT name, owner, token, expires_at >= NOW(6) AS live FROM fleet_lease ORDER BY name",
  );
  return rows.map((r) => ({ name: r.name, owner: r.owner, token: Number(r.token), live: Number(r.live) === 1 }));
}

/** Run first in a fenced write's transaction: throws LeaseLostError unless the lease is still held. */
export type Fence = (conn: Queryable) => Promise<void>;

/** The fence of whichever lease `current()` returns (a FleetLock's), refused while none is held. */
export function fenceOf(name: string, current: () => Lease | undefined): Fence {
  return (conn) => {
    const lease = current();
    if (!lease) return Promise.reject(new LeaseLostError(name));
    return fenceLease(conn, lease);
  };
}
