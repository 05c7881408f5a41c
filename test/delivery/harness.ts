// Small pieces the sender tests share: a gate a sink script can wait on, a sink that stalls the
// first attempt (and the app on it), and reading rows back.
import { expect, vi } from "vitest";
import { getOutbox } from "../../src/outbox/store.js";
import type { OutboxRow } from "../../src/outbox/types.js";
import type { Pool } from "../../src/db/pool.js";
import type { Clock } from "../../src/db/clock.js";
import { sinkAccount, startTestApp, type TestApp } from "../helpers/app.js";
import { startSmtpSink, type Reply, type SmtpSink } from "../helpers/smtp-sink.js";

/** A promise the test opens by hand, e.g. to hold an SMTP reply while something else happens. */
export class Gate {
  open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.open = resolve));
}

/** The row as stored (ms timestamps), or a failed assertion when it does not exist. */
export async function rowOf(pool: Pool, id: bigint | number): Promise<OutboxRow> {
  const row = await getOutbox(pool, Number(id));
  expect(row, `outbox row ${id}`).toBeDefined();
  return row!;
}

/** Polls the row until it matches `expected` (a toMatchObject pattern). */
export async function waitForRow(pool: Pool, id: bigint | number, expected: Partial<OutboxRow>, timeout = 20_000): Promise<OutboxRow> {
  return vi.waitFor(
    async () => {
      const row = await rowOf(pool, id);
      expect(row).toMatchObject(expected);
      return row;
    },
    { timeout, interval: 20 },
  );
}

/** The Message-ID header of a raw message as the SMTP server received it. */
export function rawMessageId(raw: Buffer | undefined): string | undefined {
  return /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw?.toString("latin1") ?? "")?.[1];
}

export interface StallingSink {
  sink: SmtpSink;
  /** Message-IDs of the attempts, in the order their DATA arrived. */
  attempts: (string | undefined)[];
  /** Opens when the first attempt's DATA has arrived (and is being held). */
  firstArrived: Gate;
  /** Lets the first attempt go on: it is then refused with a 451. */
  releaseFirst: Gate;
}

/**
 * A sink that holds the first attempt inside DATA until the test releases it, then refuses it
 * (so its outcome, if it were written, would show), and answers later attempts with `later`.
 */
export async function startStallingSink(later?: Reply): Promise<StallingSink> {
  const s = { attempts: [] as (string | undefined)[], firstArrived: new Gate(), releaseFirst: new Gate() };
  const sink = await startSmtpSink({
    script: async (stage, ctx) => {
      if (stage !== "data") return undefined;
      s.attempts.push(rawMessageId(ctx.raw));
      if (s.attempts.length > 1) return later;
      s.firstArrived.open();
      await s.releaseFirst.opened;
      return { code: 451, message: "4.4.1 stalled attempt" };
    },
  });
  return { ...s, sink };
}

export interface StalledApp extends StallingSink {
  t: TestApp;
  close(): Promise<void>;
}

/**
 * The service with account 1 on a stalling sink, a clock the test moves and a poll too far off to
 * matter: the sender claims only when woken (Send, the rescuer).
 */
export async function startStalledApp(
  label: string,
  clock: Clock,
  leaseMs: number,
  later?: Reply,
  smtp: Record<string, unknown> = {},
): Promise<StalledApp> {
  const s = await startStallingSink(later);
  const t = await startTestApp({
    label,
    clock,
    json: {
      accounts: [sinkAccount(1, s.sink.port, smtp)],
      message_id_domain: "mail.test",
      sender: { lease_ms: leaseMs, poll_interval_ms: 600_000 },
    },
  });
  return {
    ...s,
    t,
    async close() {
      s.releaseFirst.open();
      await t.close();
      await s.sink.close();
    },
  };
}
