// npm start's first step: build dist/ when it is missing or older than the sources (a fresh
// clone, or a pull), so `npm ci && npm start` works as the one command. An install without dev
// dependencies cannot build and runs the dist/ it was given. Plain JavaScript: it runs before
// anything is compiled.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const built = path.join(root, "dist", "main.js");
const SOURCES = ["src", "gen", "dashboard", "scripts", "package.json"];

function newestMtime(entry) {
  const full = path.join(root, entry);
  if (!existsSync(full)) return 0;
  const stat = statSync(full);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(full, { recursive: true })
    .map((f) => statSync(path.join(full, f)).mtimeMs)
    .reduce((a, b) => Math.max(a, b), stat.mtimeMs);
}

const builtAt = existsSync(built) ? statSync(built).mtimeMs : -1;
const canBuild = existsSync(path.join(root, "node_modules", "tsx")) && existsSync(path.join(root, "node_modules", "esbuild"));

if (builtAt < 0 && !canBuild) {
  console.error("dist/ is not built and the dev dependencies to build it are not installed: run `npm ci && npm run build`.");
  process.exit(1);
}
if (canBuild && (builtAt < 0 || SOURCES.some((s) => newestMtime(s) > builtAt))) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "build.ts")], { cwd: root, stdio: "inherit" });
  process.exit(r.status ?? 1);
}
