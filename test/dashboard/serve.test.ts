// Serving the built page: before a build, / says how to build it instead of failing obscurely.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { isDashboardPath, serveDashboard } from "../../src/api/dashboard.js";

let dir: string;
let server: Server;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dashboard-unbuilt-"));
  server = createServer((req, res) => {
    const path = req.url;
    if (isDashboardPath(path)) return serveDashboard(path, res, `${dir}/`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

test("an unbuilt dashboard answers 503 with the command that builds it", async () => {
  const res = await fetch(`${url}/`);
  expect(res.status).toBe(503);
  expect(await res.text()).toContain("run `npm run build`");
});

test("only the page and its two assets are dashboard paths", () => {
  expect(["/", "/dashboard/app.js", "/dashboard/app.css"].every(isDashboardPath)).toBe(true);
  expect(["/index.html", "/dashboard/", "/dashboard/../package.json", undefined].some(isDashboardPath)).toBe(false);
});
