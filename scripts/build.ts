// npm run build: the service and its operator scripts as plain ESM JavaScript in dist/ (one
// bundle each; runtime dependencies stay imports from node_modules, so only they are needed to run
// them), and the dashboard in dist/dashboard/. `node dist/main.js` runs it. valibot (the config
// schema) is bundled instead: as a dependency, its optional peer TypeScript would be installed
// with the runtime ones.
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildDashboard } from "../dashboard/build.js";

const root = (file: string) => fileURLToPath(new URL(`../${file}`, import.meta.url));

/** Entry point -> bundle in dist/. */
export const ENTRY_POINTS = { main: "src/main.ts", "create-key": "scripts/create-key.ts", migrate: "scripts/migrate.ts" };

export async function buildService(): Promise<void> {
  await rm(root("dist"), { recursive: true, force: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([out, src]) => [out, root(src)])),
    outdir: root("dist"),
    bundle: true,
    external: Object.keys(JSON.parse(readFileSync(root("package.json"), "utf8")).dependencies),
    platform: "node",
    format: "esm",
    target: "node20.18",
    // Readable stack traces in logs without source maps.
    minify: false,
    logLevel: "warning",
  });
  await buildDashboard();
}

await buildService();
console.log(
  `built ${Object.keys(ENTRY_POINTS)
    .map((e) => `dist/${e}.js`)
    .join(", ")} and dist/dashboard/`,
);
