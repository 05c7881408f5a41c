// The benchmark's own parts that its figures rest on: the sink attributes each message to the
// X-Outbox-Id it carried, and medians, percentiles and paired ratios are computed as stated.
import nodemailer from "nodemailer";
import { afterAll, beforeAll, expect, test } from "vitest";
import { BenchSink } from "../../bench/sink.js";
import { figure, median, percentile, ratio } from "../../bench/stats.js";

let sink: BenchSink;

beforeAll(async () => {
  sink = new BenchSink();
  await sink.listen();
});
afterAll(() => sink?.close());

test("the sink records each message under its X-Outbox-Id and waits for exactly those ids", async () => {
  const transport = nodemailer.createTransport({ host: "127.0.0.1", port: sink.port, ignoreTLS: true });
  try {
    const waiting = sink.waitFor(["a-1", "a-2"], 10_000);
    for (const id of ["a-1", "a-2"]) {
      await transport.sendMail({
        from: "b@example.com",
        to: "c@example.com",
        subject: "s",
        text: "x".repeat(200_000),
        headers: { "X-Outbox-Id": id },
      });
    }
    await waiting;
    expect([...sink.acceptedAt.keys()]).toEqual(["a-1", "a-2"]);
    await expect(sink.waitFor(["never"], 50)).rejects.toThrow(/1 messages still not accepted/);
  } finally {
    transport.close();
  }
});

test("median, percentiles and paired ratios", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
  expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
  const f = figure([10, NaN, 30, 20]);
  expect(f).toMatchObject({ median: 20, min: 10, max: 30 });
  expect(ratio(figure([2, 6]), figure([1, 2])).runs).toEqual([2, 3]);
});
