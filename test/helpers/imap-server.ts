// A real IMAP server for tests: Debian's Dovecot, started as a process of its own with its own
// config, passwd file, mail dir and log in a temp dir, listening on 127.0.0.1 behind a TcpProxy so
// that a test can cut connections. Mail is put in with imapflow's APPEND.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ImapFlow } from "imapflow";
import { vi } from "vitest";
import { TcpProxy } from "../faults/tcp-proxy.js";

export const IMAP_USER = "outbox";
export const IMAP_PASSWORD = "imap-test-secret-7f3a";

export interface ImapServer {
  /** The proxy's port: what the service under test connects to. */
  readonly port: number;
  /** The account's `imap` config for this server. */
  readonly config: Record<string, unknown>;
  /** Appends a raw message to the mailbox (created if missing); returns its UID. */
  append(raw: Buffer, mailbox?: string): Promise<number>;
  /** Drops every connection relayed so far (the server goes on running). */
  killConnections(): Promise<void>;
  /** Drops the connection on which the server sends `text` (see TcpProxy.cutWhenServerSends). */
  cutWhenServerSends(text: string): Promise<void>;
  /** Dovecot's log so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function startImapServer(): Promise<ImapServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "imap-test-"));
  // Dovecot refuses to run its login and mail processes as root: as root they run as nobody.
  const root = process.getuid?.() === 0;
  const uid = root ? Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" })) : process.getuid!();
  const gid = root ? Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" })) : process.getgid!();
  const user = root ? "nobody" : os.userInfo().username;
  const group = root
    ? execFileSync("id", ["-gn", "nobody"], { encoding: "utf8" }).trim()
    : execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();
  mkdirSync(path.join(dir, "run"));
  mkdirSync(path.join(dir, "home"));
  chmodSync(dir, 0o755);
  if (root) chownSync(path.join(dir, "home"), uid, gid);
  writeFileSync(path.join(dir, "passwd"), `${IMAP_USER}:{PLAIN}${IMAP_PASSWORD}\n`, { mode: 0o644 });
  const port = await freePort();
  const conf = path.join(dir, "dovecot.conf");
  writeFileSync(
    conf,
    `base_dir = ${dir}/run
state_dir = ${dir}/run
instance_name = imap-test-${port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = ${dir}/dovecot.log
default_internal_user = ${user}
default_internal_group = ${group}
default_login_user = ${user}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`,
  );
  const proc: ChildProcess = spawn("/usr/sbin/dovecot", ["-F", "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = once(proc, "exit");
  const logText = () => {
    try {
      return readFileSync(path.join(dir, "dovecot.log"), "utf8") + stderr;
    } catch {
      return stderr;
    }
  };
  await vi
    .waitFor(() => greets(port), { timeout: 15_000, interval: 100 })
    .catch((err: unknown) => {
      proc.kill("SIGKILL");
      throw new Error(`dovecot did not start: ${(err as Error).message}\n${logText()}`);
    });
  const proxy = await TcpProxy.start("127.0.0.1", port);

  return {
    port: proxy.port,
    config: { host: "127.0.0.1", port: proxy.port, tls: "none", user: IMAP_USER, auth: { password: IMAP_PASSWORD } },
    async append(raw, mailbox = "INBOX") {
      const client = new ImapFlow({
        host: "127.0.0.1",
        port,
        secure: false,
        doSTARTTLS: false,
        auth: { user: IMAP_USER, pass: IMAP_PASSWORD },
        logger: false,
      });
      await client.connect();
      try {
        if (mailbox !== "INBOX" && !(await client.list()).some((m) => m.path === mailbox)) await client.mailboxCreate(mailbox);
        const res = await client.append(mailbox, raw);
        if (!res || res.uid === undefined) throw new Error("APPEND returned no UID");
        return res.uid;
      } finally {
        await client.logout();
      }
    },
    killConnections: () => proxy.cut().then(() => proxy.restore()),
    cutWhenServerSends: (text) => proxy.cutWhenServerSends(text),
    log: logText,
    async stop() {
      await proxy.close();
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on now (Dovecot takes a fixed port, not 0). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves when the server sends its IMAP greeting. */
function greets(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("data", (d) => {
      socket.destroy();
      if (d.toString().startsWith("* OK")) resolve();
      else reject(new Error(`unexpected greeting ${d.toString().slice(0, 80)}`));
    });
    socket.once("error", reject);
  });
}
