// `npm test`'s first step (pretest): the Debian packages the tests drive for real — Dovecot for
// IMAP, Chromium for the dashboard, Python's grpcio, PyMySQL and dkim for the Python client, its
// outbox_request helper and the DKIM check, MariaDB when no server answers, and Galera, rsync and
// HAProxy for `npm run test:ha` (whose own pretest checks only those). As root it installs what is
// missing with apt-get; as anyone else it stops at once with the one command to run. Plain
// JavaScript: it runs before anything is compiled.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";

const PYTHON = "/usr/bin/python3";
const pythonHas = (modules) => () => existsSync(PYTHON) && spawnSync(PYTHON, ["-c", `import ${modules}`], { stdio: "ignore" }).status === 0;
const file = (path) => () => existsSync(path);

/** What the suite needs: a probe, the packages that satisfy it, and which tests use it. */
const NEEDS = [
  { has: file("/usr/bin/curl"), packages: ["curl"], for: "the curl client tests" },
  { has: pythonHas("grpc, grpc_tools"), packages: ["python3-grpcio", "python3-grpc-tools"], for: "the Python client test" },
  {
    has: pythonHas("setuptools, ensurepip, venv"),
    packages: ["python3-setuptools", "python3-venv", "python3-pip-whl", "python3-setuptools-whl"],
    for: "the Python client test (a venv, installed offline)",
  },
  { has: pythonHas("dkim"), packages: ["python3-dkim"], for: "the DKIM test (verifies signatures independently)" },
  { has: pythonHas("pymysql"), packages: ["python3-pymysql"], for: "the Python outbox_request helper test (a MySQL DB-API driver)" },
  { has: file("/usr/bin/chromium"), packages: ["chromium"], for: "the dashboard tests (headless Chromium)" },
  { has: file("/usr/sbin/dovecot"), packages: ["dovecot-imapd"], for: "the IMAP ingest tests (a real Dovecot)" },
];

/** npm run test:ha: a Galera cluster of MariaDB nodes behind HAProxy (installed by npm test too). */
const HA_NEEDS = [
  { has: file("/usr/lib/galera/libgalera_smm.so"), packages: ["galera-4"], for: "the Galera cluster tests (npm run test:ha)" },
  { has: file("/usr/bin/rsync"), packages: ["rsync"], for: "Galera's state transfer (wsrep_sst_rsync)" },
  { has: file("/usr/sbin/haproxy"), packages: ["haproxy"], for: "the cluster's single-writer proxy (npm run test:ha)" },
  { has: file("/usr/sbin/mariadbd"), packages: ["mariadb-server"], for: "the cluster's nodes" },
];
const needs = process.argv[2] === "ha" ? HA_NEEDS : [...NEEDS, ...HA_NEEDS];

const mariadbInstalled = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"].some((p) => existsSync(p));

function answers(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (ok) => (s.destroy(), resolve(ok));
    s.setTimeout(1000, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

const missing = needs.filter((n) => !n.has());
// The suite starts a private MariaDB when none answers (test/helpers/database-server.ts): it
// needs the server's binaries then, not a running server.
if (needs !== HA_NEEDS && !process.env.TEST_DATABASE_SERVER_URL && !mariadbInstalled && !(await answers(3306))) {
  missing.push({ packages: ["mariadb-server"], for: "the database every test uses (no server answers on 127.0.0.1:3306)" });
}
if (missing.length === 0) process.exit(0);

const packages = [...new Set(missing.flatMap((m) => m.packages))];
const command = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
console.error("The tests need Debian packages that are not installed:");
for (const m of missing) console.error(`  ${m.packages.join(", ")}: ${m.for}`);

const hasApt = existsSync("/usr/bin/apt-get");
if (!hasApt || process.getuid?.() !== 0) {
  console.error(
    hasApt
      ? `\nRun as root, then npm test again:\n  sudo apt-get update && sudo ${command}\n`
      : "\nThis machine has no apt-get: install the tools above with its package manager.\n",
  );
  process.exit(1);
}

console.error(`\nInstalling them (apt-get, as root): ${packages.join(" ")}`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
for (const args of [
  ["update", "-qq"],
  ["install", "-y", "-qq", "--no-install-recommends", ...packages],
]) {
  const r = spawnSync("apt-get", args, { stdio: ["ignore", "ignore", "inherit"], env });
  if (r.status !== 0) {
    console.error(`\napt-get ${args[0]} failed (exit ${r.status}). Run it by hand:\n  apt-get update && ${command}\n`);
    process.exit(1);
  }
}
const still = needs.filter((n) => !n.has());
if (still.length > 0) {
  console.error(`\nStill missing after apt-get: ${still.map((m) => m.packages.join(", ")).join("; ")}`);
  process.exit(1);
}
console.error("Installed.\n");
