// The Python client (clients/python) as users install it: `pip install` of the package into a
// venv (offline, Debian's setuptools, --no-build-isolation; stubs generated from proto/ by the
// build), then its `email-outbox-example` command against the real service. It sends, reads an
// INVALID_ARGUMENT's reason from the status details, re-drives a failed row with RetryOutbox and
// watches it to SENT; with a key that lacks a scope it prints one line, not a traceback.
import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { DOMAIN, startClientFixture, type ClientFixture } from "./fixture.js";
import { pythonClientVenv, type PythonVenv } from "./python-venv.js";

const run = promisify(execFile);
let venv: PythonVenv;
let EXAMPLE: string;

let f: ClientFixture;
beforeAll(async () => {
  venv = await pythonClientVenv("email-outbox-py-");
  EXAMPLE = path.join(venv.dir, "bin", "email-outbox-example");
  f = await startClientFixture("python_client");
}, 180_000);
afterAll(async () => {
  await f?.close();
  venv?.remove();
});

type Step = Record<string, unknown> & { step: string };
const euros = (n: number) => new Intl.NumberFormat("de-DE", { style: "currency", currency: "EUR" }).format(n);

test("the package's modules import from the venv, outside the source tree", async () => {
  const { stdout } = await run(
    path.join(venv.dir, "bin", "python"),
    [
      "-c",
      "import email_outbox_client as c, email_outbox_client.email_v1.email_service_pb2 as api, email;" +
        "print(c.__file__.startswith(%r), api.SendRequest.DESCRIPTOR.full_name, hasattr(email, 'message_from_string'))".replace(
          "%r",
          JSON.stringify(venv.dir),
        ),
    ],
    { cwd: tmpdir() },
  );
  expect(stdout.trim()).toBe("True email.v1.SendRequest True");
});

test("email-outbox-example: send, INVALID_ARGUMENT reason, failed attempt, RetryOutbox, watch to SENT", async () => {
  const { stdout } = await run(EXAMPLE, ["--url", new URL(f.t.url).host, "--api-key", f.apiKey], { timeout: 60_000 });
  const steps = new Map(
    stdout
      .trim()
      .split("\n")
      .map((line) => {
        const s = JSON.parse(line) as Step;
        return [s.step, s] as const;
      }),
  );

  const send = steps.get("send")!;
  expect(send).toMatchObject({ status: "OUTBOX_STATUS_SENT", retries: 0, tags: { campaign: "python-tour" }, metadata: { user_id: "42" } });
  expect(send.from).toBe("Account 1 <sender1@example.com>");
  expect(f.received(send.message_id as string)?.headers.get("list-unsubscribe-post")).toEqual(["List-Unsubscribe=One-Click"]);
  expect(f.received(send.message_id as string)?.parsed.subject).toBe("Hello from Python");

  expect(steps.get("template")).toMatchObject({ name: "python-receipt", version: 1 });
  const templated = steps.get("templated")!;
  expect(templated).toMatchObject({ status: "OUTBOX_STATUS_SENT", subject: "Receipt 42 for Ada", template: "python-receipt v1" });
  const parsed = f.received(templated.message_id as string)!.parsed;
  expect(parsed.html).toBe(`<p>Thanks, Ada!</p><ul><li>Tea: ${euros(3.5)}</li><li>Crème: ${euros(2)}</li></ul>`);
  expect(parsed.text).toContain(`Tea: ${euros(3.5)}`);

  expect(steps.get("invalid")).toEqual({
    step: "invalid",
    code: "INVALID_ARGUMENT",
    reason: "ADDRESS_INVALID",
    domain: "email.v1",
    message: expect.stringContaining("to[0]") as unknown,
    fields: ["to[0]"],
  });

  const failed = steps.get("failed")!;
  expect(failed).toMatchObject({ status: "OUTBOX_STATUS_FAILED", retries: 1, last_error: "simulated network timeout" });
  const id = failed.outbox_id as number;
  expect(steps.get("retry")).toMatchObject({ outbox_id: id, status: "OUTBOX_STATUS_SENT", message_id: `<outbox-${id}-1@${DOMAIN}>` });

  const watch = steps.get("watch")!;
  expect(watch.events).toEqual(["OUTBOX_EVENT_KIND_SNAPSHOT", "OUTBOX_EVENT_KIND_RETRIED", "OUTBOX_EVENT_KIND_SENT"]);
  expect(watch.message_id).toBe(`<outbox-${id}-1@${DOMAIN}>`);
  expect(f.received(`<outbox-${id}-1@${DOMAIN}>`)?.parsed.subject).toBe("Retried from Python");
});

test("a key without the watch scope gets one line with code, reason and message, exit code 1", async () => {
  const err = (await run(EXAMPLE, ["--url", new URL(f.t.url).host, "--api-key", f.sendOnlyKey], { timeout: 60_000 }).catch(
    (e: unknown) => e,
  )) as {
    code: number;
    stderr: string;
  };
  expect(err.code).toBe(1);
  expect(err.stderr).toMatch(/^email-outbox-example: PERMISSION_DENIED SCOPE_NOT_ALLOWED: [^\n]+\n$/);
});
