// A fresh MariaDB database per test file, dropped at the end.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

export const SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? "mysql://root@127.0.0.1:3306/";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label = "t"): Promise<TestDatabase> {
  const name = `eo_test_${label.replace(/[^a-z0-9]/gi, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`;
  const url = `${SERVER_URL.replace(/\/?$/, "/")}${name}`;
  return {
    url,
    name,
    async drop() {
      const conn = await mysql.createConnection({ uri: SERVER_URL });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}
