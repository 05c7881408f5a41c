// Shared pieces of the fault suite: the service's config, filling the outbox through the real API,
// a slow SMTP server, reading the outbox back, and the "sent" log lines of a child process.
import { setTimeout as delay } from "node:timers/promises";
import { randomInt } from "node:crypto";
import mysql from "mysql2/promise";
import { expect, vi } from "vitest";
import { type sinkAccount, startTestApp } from "../helpers/app.js";
import { emailClient, type EmailClient } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/db.js";
import { startServiceProcess, type ServiceOptions, type ServiceProcess } from "../helpers/service-process.js";
import { startSmtpSink, type ReceivedMessage, type SinkOptions, type SmtpScript, type SmtpSink } from "../helpers/smtp-sink.js";

export const DOMAIN = "faults.test";

/** Event kinds as stored in outbox_event (src/outbox/types.ts). */
export const KIND = { sending: 3, sent: 4, failed: 5, dead: 6, leaseRescued: 8, released: 10 } as const;

/** What a fault test runs against: a fresh database, a reader on it, an SMTP sink, and services. */
export interface Rig {
  db: TestDatabase;
  reader: OutboxReader;
  sink: SmtpSink;
  /** Every service process started, in order. */
  services: ServiceProcess[];
  /** Starts the service as a child process on the rig's database (unless told another URL). */
  start(config: Record<string, unknown>, opts?: Partial<ServiceOptions>): Promise<ServiceProcess>;
  /** Kills what is still running, closes the sink and drops the database. */
  close(): Promise<void>;
}

export async function openRig(label: string, sinkOptions: SinkOptions = {}): Promise<Rig> {
  const db = await createTestDatabase(label);
  const reader = OutboxReader.open(db.url);
  const sink = await startSmtpSink(sinkOptions);
  const services: ServiceProcess[] = [];
  return {
    db,
    reader,
    sink,
    services,
    async start(config, opts = {}) {
      const service = await startServiceProcess({ databaseUrl: db.url, config, ...opts });
      services.push(service);
      return service;
    },
    async close() {
      for (const s of services) s.kill("SIGKILL");
      await Promise.all(services.map((s) => s.exited));
      await reader.close();
      await sink.close();
      await db.drop();
    },
  };
}

/** The config file of a service whose accounts all send to test sinks. */
export function serviceConfig(accounts: ReturnType<typeof sinkAccount>[], sender: Record<string, number>): Record<string, unknown> {
  return { accounts, message_id_domain: DOMAIN, sender: { poll_interval_ms: 250, ...sender } };
}

/** An SMTP server that takes minMs..maxMs to answer each DATA, so a run lasts long enough to break. */
export function slowServer(minMs: number, maxMs: number): SmtpScript {
  return holdingServer(() => delay(randomInt(minMs, maxMs + 1))).script;
}

/** Sends `count` messages on account 1 through `client`, `parallel` at a time; returns the outbox ids. */
export async function sendMany(client: EmailClient, count: number, parallel = 32, tag = "m"): Promise<number[]> {
  const ids = new Array<number>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) {
        const res = await client.send({ accountId: 1, to: [`rcpt${i}@example.com`], subject: `${tag} ${i}`, bodyText: `body ${i}` });
        ids[i] = Number(res.outbox!.outboxId);
      }
    }),
  );
  return ids;
}

/**
 * Fills the outbox through the real API of an in-process service whose sender is off, so nothing
 * is sent before the instances under test start.
 */
export async function enqueueOffline(db: TestDatabase, config: Record<string, unknown>, count: number): Promise<number[]> {
  const app = await startTestApp({ db, json: config, background: false });
  try {
    return await sendMany(emailClient(app.url), count);
  } finally {
    await app.close();
  }
}

/** Polls `check` until it stops throwing, failing after timeoutMs. */
export function until<T>(check: () => T | Promise<T>, timeoutMs: number, interval = 100): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval });
}

/** Polls until the outbox holds exactly `count` rows, every one sent. */
export function untilAllSent(db: mysql.Pool, count: number, timeoutMs = 180_000): Promise<void> {
  return until(
    async () => {
      const [rows] = (await db.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")) as unknown as [
        { status: string; n: number }[],
      ];
      expect(Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))).toEqual({ sent: count });
    },
    timeoutMs,
    250,
  );
}

/** Outbox ids of the "sent" log lines a child process wrote. */
export function sentLogIds(proc: ServiceProcess): number[] {
  return proc.logs.filter((l) => l.msg === "sent").map((l) => Number(l.outbox_id));
}

/** The outbox id the service stamps on every message it sends. */
export function outboxIdOf(m: ReceivedMessage): number {
  return Number(m.header("x-outbox-id"));
}

/** Received messages grouped by outbox id. */
export function byOutboxId(messages: readonly ReceivedMessage[]): Map<number, ReceivedMessage[]> {
  const out = new Map<number, ReceivedMessage[]>();
  for (const m of messages) {
    const id = outboxIdOf(m);
    out.set(id, [...(out.get(id) ?? []), m]);
  }
  return out;
}

export interface Row {
  id: number;
  status: string;
  retries: number;
  next_attempt_at: number | null;
  lease_expires_at: number | null;
  message_id: string | null;
  last_error_class: string | null;
  last_error: string | null;
}

export interface EventRow {
  id: number;
  outbox_id: number;
  kind: number;
  retries: number;
  created_at: number;
}

/** Direct reads of the outbox the service writes, to assert on what is committed. */
export class OutboxReader {
  private constructor(private readonly pool: mysql.Pool) {}

  static open(url: string): OutboxReader {
    return new OutboxReader(mysql.createPool({ uri: url, connectionLimit: 2, supportBigNumbers: true, bigNumberStrings: false }));
  }

  async rows(): Promise<Row[]> {
    const [rows] = await this.pool.query(
      "SELECT id, status, retries, next_attempt_at, lease_expires_at, message_id, last_error_class, last_error FROM outbox ORDER BY id",
    );
    return rows as Row[];
  }

  async row(id: number): Promise<Row> {
    const [rows] = await this.pool.query(
      "SELECT id, status, retries, next_attempt_at, lease_expires_at, message_id, last_error_class, last_error FROM outbox WHERE id = ?",
      [id],
    );
    return (rows as Row[])[0]!;
  }

  /** Rows per status, e.g. { sent: 1990, sending: 10 }. */
  async statusCounts(): Promise<Record<string, number>> {
    const [rows] = await this.pool.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status");
    return Object.fromEntries((rows as { status: string; n: number }[]).map((r) => [r.status, Number(r.n)]));
  }

  async events(kinds?: number[]): Promise<EventRow[]> {
    const where = kinds ? "WHERE kind IN (?)" : "";
    const [rows] = await this.pool.query(`SELECT id, outbox_id, kind, retries, created_at FROM outbox_event ${where} ORDER BY id`, [kinds]);
    return rows as EventRow[];
  }

  /** The database's clock, which the service follows. */
  async now(): Promise<number> {
    // From UTC_TIMESTAMP, not the service's own expression: an oracle of its own, free of time zones.
    const [rows] = await this.pool.query("SELECT TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS ms");
    return Number((rows as { ms: number }[])[0]!.ms);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Rows whose status is not `status`, for a readable failure message. */
export function notIn(rows: Row[], status: string): Row[] {
  return rows.filter((r) => r.status !== status);
}

/**
 * For every lease rescue: how long after its claim (the SENDING event it ended) the row was
 * rescued, in ms.
 */
export function leaseWaits(events: EventRow[]): number[] {
  const lastClaim = new Map<number, number>();
  const waits: number[] = [];
  for (const e of events) {
    if (e.kind === KIND.sending) lastClaim.set(e.outbox_id, e.created_at);
    if (e.kind === KIND.leaseRescued) waits.push(e.created_at - lastClaim.get(e.outbox_id)!);
  }
  return waits;
}

/** An SMTP server that holds each message's DATA reply on `hold`, tracking which are held. */
export function holdingServer(hold: () => Promise<void>): { script: SmtpScript; held: Set<number> } {
  const held = new Set<number>();
  return {
    held,
    script: async (stage, ctx) => {
      if (stage !== "data") return undefined;
      const id = Number(/^X-Outbox-Id:\s*(\d+)/im.exec(ctx.raw!.toString("latin1"))?.[1]);
      held.add(id);
      try {
        await hold();
      } finally {
        held.delete(id);
      }
      return undefined;
    },
  };
}

/** A promise and the function that settles it. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
