// A private MariaDB server for a machine where none is running: its data in a directory of the
// project (./.data/mariadb for `npm start`), its own socket and a free port on 127.0.0.1, started
// and stopped by its caller. It runs the MariaDB binaries already installed and downloads
// nothing; where they are missing it says which command installs them.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { userInfo } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";

export const INSTALL_MARIADB = "apt-get install -y mariadb-server";

const SERVER_BINARIES = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"];
const INSTALL_DB_BINARIES = ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db", "/usr/scripts/mariadb-install-db"];
const READY_MS = 60_000;
const STOP_MS = 30_000;

export interface PrivateMariaDb {
  /** mysql://root@127.0.0.1:PORT/ — append a database name. */
  serverUrl: string;
  stop(): Promise<void>;
}

/** True when a TCP connection to host:port opens within `timeoutMs`. */
export function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** The installed server and install-db binaries, or undefined when MariaDB is not installed. */
export function mariadbBinaries(): { server: string; installDb: string } | undefined {
  const server = SERVER_BINARIES.find((p) => existsSync(p));
  const installDb = INSTALL_DB_BINARIES.find((p) => existsSync(p));
  return server && installDb ? { server, installDb } : undefined;
}

/**
 * Starts a server on `dataDir` (initialised on first use, root without a password, reachable only
 * from 127.0.0.1) and resolves once it answers a query.
 */
export async function startPrivateMariaDb(dataDir: string): Promise<PrivateMariaDb> {
  const bin = mariadbBinaries();
  if (!bin) throw new Error(`MariaDB is not installed: run \`${INSTALL_MARIADB}\` (as root), or set DATABASE_URL`);
  const dir = path.resolve(dataDir);
  const data = path.join(dir, "data");
  mkdirSync(dir, { recursive: true });
  // The server refuses to run as root unless told to; any other user runs it as itself.
  const user = userInfo().username;
  if (!existsSync(path.join(data, "mysql"))) {
    const init = spawnSync(
      bin.installDb,
      ["--no-defaults", `--datadir=${data}`, `--user=${user}`, "--auth-root-authentication-method=normal", "--skip-test-db"],
      {
        encoding: "utf8",
      },
    );
    if (init.status !== 0) throw new Error(`mariadb-install-db failed in ${data}: ${(init.stderr || init.stdout).trim().slice(-2000)}`);
  }
  const port = await freePort();
  const errorLog = path.join(dir, "error.log");
  const proc = spawn(
    bin.server,
    [
      "--no-defaults",
      `--datadir=${data}`,
      `--user=${user}`,
      `--socket=${socketPath(dir)}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--pid-file=${path.join(dir, "mariadbd.pid")}`,
      `--log-error=${errorLog}`,
      "--skip-log-bin",
      "--innodb-buffer-pool-size=256M",
      "--max-connections=500",
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const serverUrl = `mysql://root@127.0.0.1:${port}/`;
  try {
    await waitReady(serverUrl, exited);
  } catch (err) {
    proc.kill("SIGKILL");
    const tail = existsSync(errorLog) ? readFileSync(errorLog, "utf8").slice(-2000) : "";
    throw new Error(`${(err as Error).message}\n${tail}`);
  }
  return { serverUrl, stop: () => stopServer(proc, exited) };
}

async function waitReady(serverUrl: string, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + READY_MS;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  for (;;) {
    if (gone !== undefined) throw new Error(`the private MariaDB server exited (code ${gone}) while starting`);
    try {
      const conn = await mysql.createConnection({ uri: serverUrl, connectTimeout: 1_000 });
      await conn.end();
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`the private MariaDB server did not answer within ${READY_MS / 1000} s: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopServer(proc: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_MS);
  await exited;
  clearTimeout(timer);
}

/** Unix socket paths are limited to 107 bytes: a deep checkout uses the temp directory instead. */
function socketPath(dir: string): string {
  const inDir = path.join(dir, "mariadbd.sock");
  return inDir.length <= 100 ? inDir : path.join("/tmp", `email-outbox-mariadbd-${process.pid}.sock`);
}

/** A port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
