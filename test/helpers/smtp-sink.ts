/**
 * A real SMTP server for tests ("sink"): listens on 127.0.0.1 on a random port, records every
 * accepted message, and can be scripted to answer with 4xx/5xx or to misbehave (fault injection).
 *
 *   const sink = await startSmtpSink({ tls: "starttls", auth: { user: "u", password: "p" } });
 *   // ... send through 127.0.0.1:sink.port with tls: { rejectUnauthorized: false } (or ca: sink.cert)
 *   const [msg] = await sink.waitFor(1);
 *   await sink.close();
 */
import { EventEmitter } from "node:events";
import type { AddressInfo, Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { simpleParser } from "mailparser";
import type { ParsedMail } from "mailparser";
import { generate } from "selfsigned";
import { SMTPServer } from "smtp-server";
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from "smtp-server";

export const SINK_HOST = "127.0.0.1";

/** "none": plain, STARTTLS not offered. "starttls": STARTTLS offered. "implicit": TLS from the first byte. */
export type SinkTlsMode = "none" | "starttls" | "implicit";

/**
 * "silent": accept TCP (and the implicit TLS handshake) but never send the 220 greeting.
 * "reset-in-data": destroy the socket as soon as the first DATA bytes arrive (no reply is sent).
 * "reset-after-data": keep the whole message (it is recorded), then destroy the socket instead of
 * replying, as a server that crashed after storing it would.
 */
export type SinkFault = "silent" | "reset-in-data" | "reset-after-data";

export type ScriptStage = "connect" | "mailFrom" | "rcptTo" | "data";

export interface Reply {
  code: number;
  message: string;
}

export interface ScriptContext {
  /** MAIL FROM address for "mailFrom", the recipient for "rcptTo". */
  address?: string;
  /** Messages accepted (recorded) by this sink so far. */
  messageCount: number;
  /** The complete, dot-unstuffed message, for "data" only. */
  raw?: Buffer;
  session: SMTPServerSession;
}

/**
 * Decides the reply at each stage; `undefined` accepts. A code >= 400 rejects with that code
 * and message; a 2xx/3xx accepts (for "data" the reply becomes `250 <message>`).
 * May return a Promise. A script that throws yields `451 smtp-sink: script threw: ...`.
 */
export type SmtpScript = (stage: ScriptStage, ctx: ScriptContext) => Reply | undefined | Promise<Reply | undefined>;

export interface SinkAuth {
  user: string;
  /** Accepted for AUTH PLAIN and AUTH LOGIN. */
  password?: string;
  /** Accepted as the access token for AUTH XOAUTH2. */
  oauthToken?: string;
  /** Decides each XOAUTH2 access token instead of oauthToken (e.g. asks a test token endpoint). */
  acceptToken?: (accessToken: string) => boolean;
}

export interface SinkOptions {
  /** Default "none". */
  tls?: SinkTlsMode;
  /** undefined: AUTH is disabled and not required. Otherwise AUTH is required. */
  auth?: SinkAuth;
  script?: SmtpScript;
  fault?: SinkFault;
  /** The text of the 535 that refuses a failed AUTH (a hostile server may echo the credentials). */
  authFailureText?: (auth: SMTPServerAuthentication) => string;
}

export interface ReceivedMessage {
  raw: Buffer;
  envelope: { from: string; to: string[] };
  parsed: ParsedMail;
  /** Message-ID as parsed, with angle brackets (e.g. "<abc@host>"); "" if the message had none. */
  messageId: string;
  /** Raw, unfolded header values keyed by lower-case header name, in order of appearance. */
  headers: ReadonlyMap<string, readonly string[]>;
  /** First raw, unfolded value of the header (case-insensitive name), leading/trailing WSP trimmed. */
  header(name: string): string | undefined;
  /** True when the message was received over TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The authenticated user, if the session authenticated. */
  user: string | undefined;
}

export interface AuthLogEntry {
  method: "PLAIN" | "LOGIN" | "XOAUTH2";
  user: string;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly tls: SinkTlsMode;
  /** True for "implicit" (use nodemailer `secure: true`). */
  readonly secure: boolean;
  /** PEM certificate (CN=localhost, SAN localhost/127.0.0.1/::1); undefined for tls "none". */
  readonly cert: string | undefined;
  /** Accepted messages, in acceptance order. Recorded before the client gets its 250. */
  readonly messages: readonly ReceivedMessage[];
  /** TCP connections accepted so far (including faulted ones). */
  readonly connections: number;
  /** Successful AUTHs (passwords/tokens are never stored). */
  readonly authLog: readonly AuthLogEntry[];
  /** Errors reported by smtp-server (client dropped TLS handshake, socket errors, ...) or thrown by the script. */
  readonly errors: readonly Error[];
  script: SmtpScript | undefined;
  fault: SinkFault | undefined;
  /** Resolves with all messages once at least `count` were accepted; rejects on timeout or close. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  /** Resolves with the next message accepted after this call. */
  nextMessage(timeoutMs?: number): Promise<ReceivedMessage>;
  /** Forgets recorded messages, auth log, errors and the connection count (script/fault are kept). */
  clear(): void;
  /** Stops listening and destroys every open connection. Idempotent. */
  close(): Promise<void>;
}

/** Room for 40 MB messages after base64 expansion. */
const MAX_MESSAGE_SIZE = 128 * 1024 * 1024;

interface CertPair {
  key: string;
  cert: string;
}

let certPromise: Promise<CertPair> | undefined;

/** Self-signed cert for localhost/127.0.0.1, generated once per process (RSA keygen is slow). */
function getCert(): Promise<CertPair> {
  certPromise ??= generate([{ name: "commonName", value: "localhost" }], {
    keySize: 2048,
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  }).then(
    (pems) => ({ key: pems.private, cert: pems.cert }),
    (err: unknown) => {
      certPromise = undefined; // let a later call retry
      throw err;
    },
  );
  return certPromise;
}

type ReplyError = Error & { responseCode: number };

function replyError(code: number, message: string): ReplyError {
  return Object.assign(new Error(message), { responseCode: code });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Raw header section → lower-case name → unfolded values (RFC 5322 §2.2.3: drop CRLF before WSP). */
function parseRawHeaders(raw: Buffer): Map<string, string[]> {
  let end = raw.indexOf("\r\n\r\n");
  if (end < 0) end = raw.indexOf("\n\n");
  const text = (end < 0 ? raw : raw.subarray(0, end)).toString("utf8");
  const headers = new Map<string, string[]>();
  for (const line of text.replace(/\r?\n(?=[ \t])/g, "").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return headers;
}

function validateReply(reply: Reply): void {
  if (!Number.isInteger(reply.code) || reply.code < 200 || reply.code > 599) {
    throw new Error(`smtp-sink: script returned an invalid reply code ${String(reply.code)}`);
  }
}

class SmtpSinkImpl implements SmtpSink {
  readonly host = SINK_HOST;
  readonly tls: SinkTlsMode;
  readonly secure: boolean;
  readonly cert: string | undefined;
  readonly messages: ReceivedMessage[] = [];
  readonly authLog: AuthLogEntry[] = [];
  readonly errors: Error[] = [];
  script: SmtpScript | undefined;
  fault: SinkFault | undefined;

  #port = 0;
  #connections = 0;
  readonly #auth: SinkAuth | undefined;
  readonly #authFailureText: SinkOptions["authFailureText"];
  readonly #server: SMTPServer;
  readonly #events = new EventEmitter();
  /** Every socket (raw TCP and TLS on top) still open, destroyed by close(). */
  readonly #sockets = new Set<Socket>();
  /** Raw TCP sockets by client port (every client is 127.0.0.1). */
  readonly #rawByPort = new Map<number, Socket>();
  /** TLS sockets by session id (implicit TLS or after STARTTLS). */
  readonly #tlsBySession = new Map<string, TLSSocket>();
  #closePromise: Promise<void> | undefined;

  constructor(options: SinkOptions, pems: CertPair | undefined) {
    this.tls = options.tls ?? "none";
    this.secure = this.tls === "implicit";
    this.cert = pems?.cert;
    this.#auth = options.auth;
    this.#authFailureText = options.authFailureText;
    this.script = options.script;
    this.fault = options.fault;
    this.#events.setMaxListeners(0);

    const disabledCommands: string[] = [];
    if (this.tls !== "starttls") disabledCommands.push("STARTTLS");
    if (!this.#auth) disabledCommands.push("AUTH");

    const serverOptions: SMTPServerOptions = {
      secure: this.secure,
      ...(pems ? { key: pems.key, cert: pems.cert } : {}),
      name: "smtp-sink.test",
      logger: false,
      disabledCommands,
      authOptional: !this.#auth,
      authMethods: ["PLAIN", "LOGIN", "XOAUTH2"],
      // without TLS there is nothing to wait for before AUTH
      allowInsecureAuth: this.tls === "none",
      size: MAX_MESSAGE_SIZE,
      disableReverseLookup: true,
      closeTimeout: 1_000,
      onConnect: (session, callback) => this.#onConnect(session, callback),
      onSecure: (socket, session, callback) => {
        if (socket instanceof TLSSocket) {
          this.#tlsBySession.set(session.id, socket);
          this.#track(socket);
        }
        callback();
      },
      onAuth: (auth, _session, callback) => this.#onAuth(auth, callback),
      onMailFrom: (address, session, callback) => this.#onAddress("mailFrom", address, session, callback),
      onRcptTo: (address, session, callback) => this.#onAddress("rcptTo", address, session, callback),
      onData: (stream, session, callback) => this.#onData(stream, session, callback),
      onClose: (session) => {
        this.#tlsBySession.delete(session.id);
      },
    };
    this.#server = new SMTPServer(serverOptions);
    // smtp-server starts the implicit TLS handshake one setImmediate after accepting a socket,
    // without checking whether close() destroyed the socket meanwhile; a TLSSocket on top of a
    // destroyed socket then segfaults Node 20 (TLSWrap::GetProtocol on a freed SSL, from the
    // handshake error path). Refuse to upgrade a socket that is already gone.
    const upgrade = this.#server._upgrade.bind(this.#server);
    this.#server._upgrade = (socket, callback) => {
      if (socket.destroyed) {
        callback(Object.assign(new Error("Socket closed before the TLS handshake"), { code: "SocketError" }));
        return;
      }
      upgrade(socket, callback);
    };
    // Mandatory: without it a client dropping a TLS handshake (or any socket error) crashes the run.
    this.#server.on("error", (err) => {
      this.errors.push(err);
    });
    this.#server.server.on("connection", (socket: Socket) => {
      this.#connections++;
      this.#track(socket);
      const port = socket.remotePort;
      if (port !== undefined) {
        this.#rawByPort.set(port, socket);
        socket.once("close", () => {
          if (this.#rawByPort.get(port) === socket) this.#rawByPort.delete(port);
        });
      }
    });
  }

  get port(): number {
    return this.#port;
  }

  get connections(): number {
    return this.#connections;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.server.once("error", onError);
      this.#server.listen(0, SINK_HOST, () => {
        this.#server.server.off("error", onError);
        resolve();
      });
    });
    this.#port = (this.#server.server.address() as AddressInfo).port;
  }

  waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedMessage[]> {
    if (this.messages.length >= count) return Promise.resolve(this.messages.slice());
    return new Promise<ReceivedMessage[]>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#events.off("message", onMessage);
        this.#events.off("closed", onClosed);
      };
      const onMessage = (): void => {
        if (this.messages.length < count) return;
        cleanup();
        resolve(this.messages.slice());
      };
      const onClosed = (): void => {
        cleanup();
        reject(new Error(`smtp-sink: closed while waiting for ${count} message(s); received ${this.messages.length}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `smtp-sink: timed out after ${timeoutMs} ms waiting for ${count} message(s); ` +
              `received ${this.messages.length} (connections: ${this.#connections}, ` +
              `server errors: ${this.errors.map((e) => e.message).join("; ") || "none"})`,
          ),
        );
      }, timeoutMs);
      this.#events.on("message", onMessage);
      this.#events.once("closed", onClosed);
    });
  }

  async nextMessage(timeoutMs = 10_000): Promise<ReceivedMessage> {
    const index = this.messages.length;
    const all = await this.waitFor(index + 1, timeoutMs);
    return all[index] as ReceivedMessage;
  }

  clear(): void {
    this.messages.length = 0;
    this.authLog.length = 0;
    this.errors.length = 0;
    this.#connections = 0;
  }

  close(): Promise<void> {
    this.#closePromise ??= new Promise<void>((resolve) => {
      this.#events.emit("closed");
      // Stops listening and destroys sockets still in the implicit TLS handshake; the callback
      // runs once every connection is gone.
      this.#server.close(() => resolve());
      // Top sockets (the TLS ones included, also those onSecure never saw, e.g. in "silent"
      // mode) before the raw ones beneath them.
      for (const connection of this.#server.connections) connection._socket.destroy();
      const sockets = [...this.#sockets].sort((a, b) => Number(b instanceof TLSSocket) - Number(a instanceof TLSSocket));
      for (const socket of sockets) socket.destroy();
      this.#sockets.clear();
    });
    return this.#closePromise;
  }

  #track(socket: Socket): void {
    // a socket error after destroy() must not become an uncaught exception
    socket.on("error", () => undefined);
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  /** Runs the script; resolves to an error to hand to smtp-server, or to the accepting reply. */
  async #decide(stage: ScriptStage, ctx: Omit<ScriptContext, "messageCount">): Promise<{ reject?: ReplyError; accept?: Reply }> {
    const script = this.script;
    if (!script) return {};
    let reply: Reply | undefined;
    try {
      reply = await script(stage, { ...ctx, messageCount: this.messages.length });
      if (reply) validateReply(reply);
    } catch (err) {
      const error = toError(err);
      this.errors.push(error);
      return { reject: replyError(451, `smtp-sink: script threw: ${error.message}`) };
    }
    if (!reply) return {};
    if (reply.code >= 400) return { reject: replyError(reply.code, reply.message) };
    return { accept: reply };
  }

  #onConnect(session: SMTPServerSession, callback: (err?: Error | null) => void): void {
    if (this.fault === "silent") {
      // Never call back: smtp-server never greets. close() destroys the socket.
      return;
    }
    this.#decide("connect", { session }).then(
      ({ reject }) => callback(reject),
      (err: unknown) => callback(toError(err)),
    );
  }

  #onAuth(
    auth: SMTPServerAuthentication,
    callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
  ): void {
    const expected = this.#auth;
    const username = auth.username ?? "";
    let ok = false;
    if (expected && username === expected.user) {
      if (auth.method === "XOAUTH2") {
        ok = expected.acceptToken
          ? expected.acceptToken(auth.accessToken ?? "")
          : expected.oauthToken !== undefined && auth.accessToken === expected.oauthToken;
      } else if (auth.method === "PLAIN" || auth.method === "LOGIN") {
        ok = expected.password !== undefined && auth.password === expected.password;
      }
    }
    if (!ok) {
      // Direct 535 for every method (for XOAUTH2 too, instead of the 334 error-JSON round trip).
      callback(replyError(535, this.#authFailureText?.(auth) ?? "Authentication credentials invalid"));
      return;
    }
    this.authLog.push({ method: auth.method as AuthLogEntry["method"], user: username });
    callback(null, { user: username });
  }

  #onAddress(
    stage: "mailFrom" | "rcptTo",
    address: SMTPServerAddress,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): void {
    this.#decide(stage, { address: address.address, session }).then(
      ({ reject }) => callback(reject),
      (err: unknown) => callback(toError(err)),
    );
  }

  #onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
    if (this.fault === "reset-in-data") {
      stream.once("data", () => this.#resetSession(session));
      stream.resume();
      return; // never answer
    }
    const chunks: Buffer[] = [];
    let done = false;
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("error", (err: Error) => {
      this.errors.push(err);
      if (done) return;
      done = true;
      callback(replyError(451, `smtp-sink: data stream error: ${err.message}`));
    });
    stream.once("end", () => {
      if (done) return;
      done = true;
      if (stream.sizeExceeded) {
        callback(replyError(552, `Message exceeds fixed maximum message size ${MAX_MESSAGE_SIZE}`));
        return;
      }
      const raw = Buffer.concat(chunks);
      // copy the envelope now: smtp-server resets the session after the reply
      const envelope = {
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
      };
      const secure = session.secure;
      const user = typeof session.user === "string" ? session.user : undefined;
      const resetAfter = this.fault === "reset-after-data";
      this.#finishData(raw, envelope, secure, user, session).then(
        (reply) => (resetAfter ? this.#resetSession(session) : callback(null, reply)),
        (err: unknown) => callback(toError(err)),
      );
    });
  }

  /** Resolves with the 250 text, rejects with the error to send. */
  async #finishData(
    raw: Buffer,
    envelope: ReceivedMessage["envelope"],
    secure: boolean,
    user: string | undefined,
    session: SMTPServerSession,
  ): Promise<string | undefined> {
    const { reject, accept } = await this.#decide("data", { raw, session });
    if (reject) throw reject;
    let parsed: ParsedMail;
    try {
      parsed = await simpleParser(raw);
    } catch (err) {
      const error = toError(err);
      this.errors.push(error);
      throw replyError(451, `smtp-sink: could not parse message: ${error.message}`);
    }
    const headers = parseRawHeaders(raw);
    const message: ReceivedMessage = {
      raw,
      envelope,
      parsed,
      messageId: parsed.messageId ?? "",
      headers,
      header: (name) => headers.get(name.toLowerCase())?.[0],
      secure,
      user,
    };
    this.messages.push(message);
    this.#events.emit("message", message);
    return accept?.message;
  }

  #resetSession(session: SMTPServerSession): void {
    const socket = this.#tlsBySession.get(session.id) ?? this.#rawByPort.get(session.remotePort);
    if (!socket) return;
    if (socket instanceof TLSSocket) {
      socket.destroy(); // resetAndDestroy() only works on a plain TCP handle
    } else {
      socket.resetAndDestroy(); // RST, so the client sees ECONNRESET
    }
  }
}

/** Starts a real SMTP server on 127.0.0.1 with a random port. Always `await sink.close()`. */
export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const tls = options.tls ?? "none";
  const pems = tls === "none" ? undefined : await getCert();
  const sink = new SmtpSinkImpl(options, pems);
  await sink.listen();
  return sink;
}
