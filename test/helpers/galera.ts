// A real 3-node MariaDB Galera cluster on loopback ports, each node with its own data directory
// under a temp dir and run as the `mysql` user (rsync state transfer fails as root), behind
// HAProxy in active/backup mode: every connection goes to one writer; when it dies, to the next.
// For `npm run test:ha`.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { freePort } from "../../src/db/private-mariadb.js";

const MARIADBD = "/usr/sbin/mariadbd";
const INSTALL_DB = "/usr/bin/mariadb-install-db";
const GALERA = "/usr/lib/galera/libgalera_smm.so";
const HAPROXY = "/usr/sbin/haproxy";

export interface GaleraNode {
  name: string;
  /** The node's own MySQL port (bypassing the proxy). */
  port: number;
  process?: ChildProcess;
  /** Resolves when the process exits. */
  exited?: Promise<number | string>;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  /** HAProxy's port: the one address the service is given. */
  proxyPort: number;
  /** mysql://root@127.0.0.1:proxyPort/ */
  serverUrl: string;
  nodeUrl(node: GaleraNode): string;
  /** SIGKILL a node. */
  kill(node: GaleraNode): Promise<void>;
  /** Starts a stopped node again; it rejoins with a state transfer. */
  restart(node: GaleraNode): Promise<void>;
  /** The node HAProxy sends new connections to now (its wsrep_node_name). */
  writer(): Promise<string>;
  close(): Promise<void>;
}

interface Ports {
  mysql: number;
  galera: number;
  ist: number;
  sst: number;
}

export async function startGaleraCluster(size = 3): Promise<GaleraCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), "eo-galera-"));
  execFileSync("chmod", ["755", dir]);
  const { uid, gid } = mysqlUser();
  const ports: Ports[] = [];
  for (let i = 0; i < size; i++)
    ports.push({ mysql: await freePort(), galera: await freePort(), ist: await freePort(), sst: await freePort() });
  const clusterAddress = `gcomm://${ports.map((p) => `127.0.0.1:${p.galera}`).join(",")}`;
  const nodes: GaleraNode[] = ports.map((p, i) => ({ name: `node${i + 1}`, port: p.mysql }));

  const nodeDir = (i: number) => path.join(dir, nodes[i]!.name);
  for (let i = 0; i < size; i++) {
    const d = nodeDir(i);
    mkdirSync(path.join(d, "data"), { recursive: true });
    chownSync(d, uid, gid);
    chownSync(path.join(d, "data"), uid, gid);
  }
  // Only the first node's data is initialised: the others receive it by state transfer.
  execFileSync(
    INSTALL_DB,
    [
      "--no-defaults",
      `--datadir=${path.join(nodeDir(0), "data")}`,
      "--user=mysql",
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
    ],
    {
      stdio: "ignore",
    },
  );

  const launch = (i: number, bootstrap: boolean) => {
    const p = ports[i]!;
    const d = nodeDir(i);
    const args = [
      "--no-defaults",
      `--datadir=${path.join(d, "data")}`,
      "--user=mysql",
      `--socket=${path.join(d, "mysqld.sock")}`,
      `--port=${p.mysql}`,
      "--bind-address=127.0.0.1",
      `--pid-file=${path.join(d, "mysqld.pid")}`,
      `--log-error=${path.join(d, "error.log")}`,
      "--innodb-buffer-pool-size=128M",
      "--max-connections=300",
      "--skip-name-resolve",
      // Galera's requirements.
      "--binlog-format=ROW",
      "--default-storage-engine=InnoDB",
      "--innodb-autoinc-lock-mode=2",
      "--innodb-flush-log-at-trx-commit=2",
      "--wsrep-on=ON",
      `--wsrep-provider=${GALERA}`,
      `--wsrep-cluster-address=${clusterAddress}`,
      "--wsrep-cluster-name=email_outbox_test",
      `--wsrep-node-name=${nodes[i]!.name}`,
      `--wsrep-node-address=127.0.0.1:${p.galera}`,
      "--wsrep-sst-method=rsync",
      `--wsrep-sst-receive-address=127.0.0.1:${p.sst}`,
      `--wsrep-provider-options=base_port=${p.galera};gmcast.listen_addr=tcp://127.0.0.1:${p.galera};ist.recv_addr=127.0.0.1:${p.ist};evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;pc.weight=1`,
      ...(bootstrap ? ["--wsrep-new-cluster"] : []),
    ];
    const child = spawn(MARIADBD, args, { stdio: "ignore" });
    nodes[i]!.process = child;
    nodes[i]!.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  };

  const nodeUrl = (node: GaleraNode) => `mysql://root@127.0.0.1:${node.port}/`;
  const waitSynced = async (i: number) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const exitedEarly = await Promise.race([
        nodes[i]!.exited!.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 200)),
      ]);
      if (exitedEarly) throw new Error(`${nodes[i]!.name} exited while starting:\n${tail(path.join(nodeDir(i), "error.log"))}`);
      try {
        const conn = await mysql.createConnection({ uri: nodeUrl(nodes[i]!), connectTimeout: 1_000 });
        const [[row]] = (await conn.query("SHOW STATUS LIKE 'wsrep_local_state_comment'")) as unknown as [[{ Value: string }]];
        await conn.end();
        if (row?.Value === "Synced") return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${nodes[i]!.name} did not reach Synced:\n${tail(path.join(nodeDir(i), "error.log"))}`);
    }
  };

  launch(0, true);
  await waitSynced(0);
  // A user for HAProxy's health check, replicated to the nodes that join.
  const first = await mysql.createConnection({ uri: nodeUrl(nodes[0]!) });
  await first.query("CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.1'");
  await first.end();
  for (let i = 1; i < size; i++) {
    launch(i, false);
    await waitSynced(i);
  }

  const proxyPort = await freePort();
  const haproxyCfg = path.join(dir, "haproxy.cfg");
  writeFileSync(haproxyCfg, haproxyConfig(proxyPort, nodes));
  const haproxy = spawn(HAPROXY, ["-f", haproxyCfg, "-db"], { stdio: "ignore" });
  const haproxyExited = new Promise((resolve) => haproxy.once("exit", resolve));
  const serverUrl = `mysql://root@127.0.0.1:${proxyPort}/`;
  await until(
    async () => {
      try {
        const conn = await mysql.createConnection({ uri: serverUrl, connectTimeout: 1_000 });
        await conn.end();
        return true;
      } catch {
        return false;
      }
    },
    30_000,
    "HAProxy to accept connections",
  );

  const cluster: GaleraCluster = {
    nodes,
    proxyPort,
    serverUrl,
    nodeUrl,
    async kill(node) {
      node.process?.kill("SIGKILL");
      await node.exited;
      node.process = undefined;
    },
    async restart(node) {
      const i = nodes.indexOf(node);
      launch(i, false);
      await waitSynced(i);
    },
    async writer() {
      const conn = await mysql.createConnection({ uri: serverUrl, connectTimeout: 2_000 });
      try {
        const [[row]] = (await conn.query("SELECT @@wsrep_node_name AS name")) as unknown as [[{ name: string }]];
        return row.name;
      } finally {
        await conn.end();
      }
    },
    async close() {
      haproxy.kill("SIGKILL");
      await haproxyExited;
      for (const n of nodes) n.process?.kill("SIGKILL");
      await Promise.all(nodes.map((n) => n.exited));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/**
 * Active/backup: node1 takes every connection while it is up; the backups in order after it. The
 * stick table keeps traffic on the node that took over even when the old one comes back, so the
 * cluster never has two writers at once through the proxy. A node marked down has its sessions cut.
 */
function haproxyConfig(port: number, nodes: GaleraNode[]): string {
  return `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
frontend mysql
  bind 127.0.0.1:${port}
  default_backend galera
backend galera
  option mysql-check user haproxy_check
  stick-table type integer size 1
  stick on int(1)
  default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
${nodes.map((n, i) => `  server ${n.name} 127.0.0.1:${n.port} check${i > 0 ? " backup" : ""}`).join("\n")}
`;
}

function mysqlUser(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("mysql:"));
  if (!line) throw new Error("no mysql user: install mariadb-server (npm run test:ha provisions it)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").slice(-3000);
  } catch {
    return "(no log)";
  }
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
