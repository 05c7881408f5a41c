// The machine a run happened on, for the report: cores, memory, Node, MariaDB, Redis, and load.
import { cpus, loadavg, totalmem } from "node:os";
import mysql from "mysql2/promise";
import { SERVER_URL } from "../test/helpers/db.js";

export async function describeMachine(redisVersion: string | undefined): Promise<Record<string, string>> {
  const conn = await mysql.createConnection({ uri: SERVER_URL });
  let mariadb = "?";
  try {
    const [rows] = (await conn.query("SELECT VERSION() AS v")) as unknown as [{ v: string }[]];
    mariadb = rows[0]?.v ?? "?";
  } finally {
    await conn.end();
  }
  const cpu = cpus();
  return {
    cores: `${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    mariadb,
    redis: redisVersion ?? "not running",
    "load average at start (1/5/15 min)": loadAverage(),
  };
}

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");
}
