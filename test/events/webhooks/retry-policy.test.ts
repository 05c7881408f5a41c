// The retry decision: 2xx delivered, permanent failed, retryable due after a jittered doubling
// delay of at least Retry-After, never past the event's max age, then failed.
import { expect, test } from "vitest";
import { parseConfig } from "../../../src/config/config.js";
import { decide } from "../../../src/events/webhooks/retry-policy.js";

const endpoint = parseConfig(
  {
    accounts: [
      {
        id: 1,
        from: "A <a@example.com>",
        file_dir: "o",
        webhooks: [{ id: "h", url: "https://x.example/", secret_env: "S", retry_initial_ms: 1000, max_age_ms: 100_000 }],
      },
    ],
  },
  { S: `whsec_${Buffer.alloc(24).toString("base64")}` },
  "/",
).accounts.get(1)!.webhooks[0]!;
const T = 1_000_000;

test("delays double from retry_initial_ms, jittered between half and all of it", () => {
  const at = (attempts: number, r: number) =>
    decide({ kind: "retry", error: "e" }, { attempts, eventAt: T }, endpoint, T, () => r).dueAt! - T;
  expect([at(0, 1), at(1, 1), at(2, 1), at(3, 0)]).toEqual([1000, 2000, 4000, 4000]);
});

test("Retry-After is honoured when longer; the max age caps the wait, then the delivery fails", () => {
  expect(decide({ kind: "retry", error: "e", retryAfterMs: 30_000 }, { attempts: 0, eventAt: T }, endpoint, T, () => 1).dueAt).toBe(
    T + 30_000,
  );
  expect(decide({ kind: "retry", error: "e", retryAfterMs: 500_000 }, { attempts: 0, eventAt: T }, endpoint, T).dueAt).toBe(T + 100_000);
  expect(decide({ kind: "retry", status: 503, error: "HTTP 503: x" }, { attempts: 9, eventAt: T }, endpoint, T + 100_000)).toMatchObject({
    status: "failed",
    error: "gave up after max_age_ms: HTTP 503: x",
    endpointOk: false,
  });
});

test("ok and permanent", () => {
  expect(decide({ kind: "ok", status: 204 }, { attempts: 0, eventAt: T }, endpoint, T)).toMatchObject({
    status: "delivered",
    endpointOk: true,
  });
  expect(decide({ kind: "permanent", status: 410, error: "HTTP 410: gone" }, { attempts: 0, eventAt: T }, endpoint, T)).toMatchObject({
    status: "failed",
    httpStatus: 410,
  });
});
