import net from "node:net";
import { once } from "node:events";
import nodemailer from "nodemailer";
import type { SMTPTransportOptions } from "nodemailer";
import { afterEach, describe, expect, it } from "vitest";
import { startSmtpSink } from "./smtp-sink.js";
import type { ScriptStage, SinkOptions, SmtpSink } from "./smtp-sink.js";

const sinks: SmtpSink[] = [];
const transports: { close(): void }[] = [];

afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function sink(options?: SinkOptions): Promise<SmtpSink> {
  const s = await startSmtpSink(options);
  sinks.push(s);
  return s;
}

function transportFor(s: SmtpSink, extra: SMTPTransportOptions = {}) {
  const t = nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.secure,
    tls: { rejectUnauthorized: false },
    ...extra,
  });
  transports.push(t);
  return t;
}

const mail = {
  from: "Sender <sender@example.com>",
  to: ["alice@example.com", "bob@example.com"],
  subject: "Hello sink",
  text: "Plain body.",
};

describe("startSmtpSink", () => {
  it("records a plain delivery with Message-ID, subject and recipients", async () => {
    const s = await sink();
    expect(s.port).toBeGreaterThan(0);
    expect(s.tls).toBe("none");
    expect(s.cert).toBeUndefined();

    const info = await transportFor(s).sendMail(mail);
    // recorded before the 250, so no waiting is needed once sendMail resolved
    expect(s.messages).toHaveLength(1);
    const [msg] = await s.waitFor(1);
    expect(msg).toBeDefined();
    if (!msg) return;
    expect(msg.messageId).toBe(info.messageId);
    expect(msg.header("Message-ID")).toBe(info.messageId);
    expect(msg.headers.get("message-id")).toEqual([info.messageId]);
    expect(msg.parsed.subject).toBe("Hello sink");
    expect(msg.header("subject")).toBe("Hello sink");
    expect(msg.parsed.text?.trim()).toBe("Plain body.");
    expect(msg.envelope).toEqual({ from: "sender@example.com", to: ["alice@example.com", "bob@example.com"] });
    expect(msg.header("to")).toBe("alice@example.com, bob@example.com");
    expect(msg.raw.toString("utf8")).toContain("Plain body.");
    expect(msg.secure).toBe(false);
    expect(msg.user).toBeUndefined();
    expect(s.connections).toBe(1);
    expect(s.authLog).toEqual([]);
  });

  it("STARTTLS + AUTH PLAIN/LOGIN, pinned cert, wrong password gets 535", async () => {
    const s = await sink({ tls: "starttls", auth: { user: "mailer", password: "s3cret" } });
    expect(s.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);

    // pin the sink's certificate instead of rejectUnauthorized: false
    await transportFor(s, {
      requireTLS: true,
      auth: { user: "mailer", pass: "s3cret" },
      authMethod: "PLAIN",
      tls: { ca: s.cert, rejectUnauthorized: true },
    }).sendMail(mail);
    await transportFor(s, { requireTLS: true, auth: { user: "mailer", pass: "s3cret" }, authMethod: "LOGIN" }).sendMail(mail);

    const msgs = await s.waitFor(2);
    expect(msgs.map((m) => [m.secure, m.user])).toEqual([
      [true, "mailer"],
      [true, "mailer"],
    ]);
    expect(s.authLog).toEqual([
      { method: "PLAIN", user: "mailer" },
      { method: "LOGIN", user: "mailer" },
    ]);
    expect(JSON.stringify(s.authLog)).not.toContain("s3cret");

    await expect(transportFor(s, { requireTLS: true, auth: { user: "mailer", pass: "wrong" } }).sendMail(mail)).rejects.toMatchObject({
      code: "EAUTH",
      responseCode: 535,
    });
    expect(s.messages).toHaveLength(2);
    expect(s.authLog).toHaveLength(2);
  });

  it("requires AUTH when configured", async () => {
    const s = await sink({ tls: "starttls", auth: { user: "mailer", password: "s3cret" } });
    await expect(transportFor(s, { requireTLS: true }).sendMail(mail)).rejects.toMatchObject({
      responseCode: 530,
    });
    expect(s.messages).toHaveLength(0);
  });

  it("implicit TLS", async () => {
    const s = await sink({ tls: "implicit" });
    expect(s.secure).toBe(true);
    await transportFor(s).sendMail(mail);
    const [msg] = await s.waitFor(1);
    expect(msg?.secure).toBe(true);
  });

  it("XOAUTH2 with the configured token; a wrong token gets 535", async () => {
    const s = await sink({ tls: "implicit", auth: { user: "oauth@example.com", oauthToken: "tok-123" } });
    await transportFor(s, {
      auth: { type: "OAuth2", user: "oauth@example.com", accessToken: "tok-123" },
    }).sendMail(mail);
    const [msg] = await s.waitFor(1);
    expect(msg?.user).toBe("oauth@example.com");
    expect(s.authLog).toEqual([{ method: "XOAUTH2", user: "oauth@example.com" }]);

    await expect(
      transportFor(s, { auth: { type: "OAuth2", user: "oauth@example.com", accessToken: "nope" } }).sendMail(mail),
    ).rejects.toMatchObject({ responseCode: 535 });
    // no password configured: PLAIN must fail too
    await expect(transportFor(s, { auth: { user: "oauth@example.com", pass: "tok-123" } }).sendMail(mail)).rejects.toMatchObject({
      responseCode: 535,
    });
    expect(s.messages).toHaveLength(1);
  });

  it("scripted 451 after DATA: client gets 451, nothing recorded; script is reassignable", async () => {
    const seen: ScriptStage[] = [];
    let rawSeen: Buffer | undefined;
    const s = await sink({
      script: (stage, ctx) => {
        seen.push(stage);
        if (stage === "data") {
          rawSeen = ctx.raw;
          return { code: 451, message: "4.3.0 Try again later" };
        }
        return undefined;
      },
    });
    await expect(transportFor(s).sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
    expect(s.messages).toHaveLength(0);
    expect(seen).toEqual(["connect", "mailFrom", "rcptTo", "rcptTo", "data"]);
    expect(rawSeen?.toString("utf8")).toContain("Subject: Hello sink");

    s.script = (stage, ctx) => (stage === "data" ? { code: 250, message: `queued as #${ctx.messageCount + 1}` } : undefined);
    const info = await transportFor(s).sendMail(mail);
    expect(info.response).toBe("250 queued as #1");
    expect(s.messages).toHaveLength(1);
  });

  it("scripted 550 on rcptTo", async () => {
    const s = await sink({
      script: (stage, ctx) =>
        stage === "rcptTo" && ctx.address === "nobody@example.com" ? { code: 550, message: "5.1.1 No such user" } : undefined,
    });
    await expect(transportFor(s).sendMail({ ...mail, to: "nobody@example.com" })).rejects.toMatchObject({
      responseCode: 550,
    });
    expect(s.messages).toHaveLength(0);

    // partial rejection: the accepted recipient still gets it
    const info = await transportFor(s).sendMail({ ...mail, to: ["nobody@example.com", "alice@example.com"] });
    expect(info.rejected).toEqual(["nobody@example.com"]);
    const [msg] = await s.waitFor(1);
    expect(msg?.envelope.to).toEqual(["alice@example.com"]);
  });

  it("scripted refusal at connect and at MAIL FROM", async () => {
    const s = await sink({ script: (stage) => (stage === "connect" ? { code: 421, message: "Busy" } : undefined) });
    await expect(transportFor(s).sendMail(mail)).rejects.toMatchObject({ responseCode: 421 });
    s.script = (stage) => (stage === "mailFrom" ? { code: 452, message: "Mailbox full" } : undefined);
    await expect(transportFor(s).sendMail(mail)).rejects.toMatchObject({ responseCode: 452 });
    s.script = () => {
      throw new Error("boom");
    };
    await expect(transportFor(s).sendMail(mail)).rejects.toMatchObject({ responseCode: 451 });
    expect(s.errors.map((e) => e.message)).toContain("boom");
    expect(s.messages).toHaveLength(0);
    expect(s.connections).toBe(3);
  });

  it("UTF-8 subject and body arrive intact; raw Subject is RFC 2047 encoded", async () => {
    const s = await sink();
    await transportFor(s).sendMail({ ...mail, subject: "你好", text: "消息正文。" });
    const [msg] = await s.waitFor(1);
    expect(msg?.parsed.subject).toBe("你好");
    expect(msg?.parsed.text?.trim()).toBe("消息正文。");
    expect(msg?.header("subject")).toMatch(/^=\?UTF-8\?[BQ]\?/i);
  });

  it("waitFor is event-driven across concurrent sends; nextMessage; timeout error is clear", async () => {
    const s = await sink();
    const waiting = s.waitFor(3);
    const next = s.nextMessage();
    const t = transportFor(s);
    await Promise.all([1, 2, 3].map((i) => t.sendMail({ ...mail, subject: `n${i}` })));
    const msgs = await waiting;
    expect(msgs.map((m) => m.parsed.subject).sort()).toEqual(["n1", "n2", "n3"]);
    expect(msgs[0]).toBe(await next);

    await expect(s.waitFor(4, 50)).rejects.toThrow(/timed out after 50 ms waiting for 4 message\(s\); received 3/);

    s.clear();
    expect(s.messages).toHaveLength(0);
    expect(s.connections).toBe(0);
  });

  it("close() rejects pending waiters and ends idle connections", async () => {
    const s = await sink({ tls: "starttls" });
    const client = net.connect(s.port, s.host);
    client.on("error", () => undefined);
    const [greeting] = (await once(client, "data")) as [Buffer];
    expect(greeting.toString()).toMatch(/^220 /);
    const pending = expect(s.waitFor(1)).rejects.toThrow(/closed while waiting/);
    const closed = once(client, "close");
    const started = performance.now();
    await s.close();
    await closed;
    expect(performance.now() - started).toBeLessThan(900); // not the 1 s closeTimeout fallback
    await pending;
    await s.close(); // idempotent
  });

  it("survives a client that drops/garbles the implicit TLS handshake (error handler attached)", async () => {
    const s = await sink({ tls: "implicit" });
    const client = net.connect(s.port, s.host);
    client.on("error", () => undefined);
    await once(client, "connect");
    client.write("EHLO not-tls\r\n");
    await once(client, "close");
    expect(s.errors.length).toBeGreaterThan(0);
    // a socket still waiting for its handshake is cleaned up by close() (closing right after
    // accept used to segfault Node inside smtp-server, see the _upgrade guard in smtp-sink.ts)
    const idle = net.connect(s.port, s.host);
    idle.on("error", () => undefined);
    await once(idle, "connect");
    const idleClosed = once(idle, "close");
    await s.close();
    await idleClosed;
  });

  describe("faults", () => {
    it("silent: no greeting, the client times out; close() still works", async () => {
      const s = await sink({ fault: "silent" });
      const err: unknown = await transportFor(s, { greetingTimeout: 500 })
        .sendMail(mail)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toMatch(/^(ETIMEDOUT|ECONNECTION|ESOCKET)$/);
      expect(s.connections).toBe(1);
      expect(s.messages).toHaveLength(0);

      // a client still hanging in the silent phase does not block close()
      const client = net.connect(s.port, s.host);
      client.on("error", () => undefined);
      await once(client, "connect");
      const closed = once(client, "close");
      await s.close();
      await closed;
    });

    it("silent over implicit TLS, set after start, then cleared", async () => {
      const s = await sink({ tls: "implicit" });
      s.fault = "silent";
      await expect(transportFor(s, { greetingTimeout: 500 }).sendMail(mail)).rejects.toBeInstanceOf(Error);
      s.fault = undefined;
      await transportFor(s).sendMail(mail);
      expect(s.messages).toHaveLength(1);
    });

    it("reset-in-data: the client errors and nothing is recorded", async () => {
      const s = await sink();
      s.fault = "reset-in-data";
      const err: unknown = await transportFor(s)
        .sendMail(mail)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(Error);
      expect(s.messages).toHaveLength(0);
    });

    it("reset-in-data over STARTTLS", async () => {
      const s = await sink({ tls: "starttls", fault: "reset-in-data" });
      await expect(transportFor(s, { requireTLS: true }).sendMail(mail)).rejects.toBeInstanceOf(Error);
      expect(s.messages).toHaveLength(0);
    });
  });
});
