// Builds the dashboard into dashboard/dist with esbuild: one browser bundle (connect-web, the
// generated messages and the page's code), the page and its stylesheet. `npm run
// build:dashboard` runs it, so do `npm start` (prestart, with --optional) and the dashboard test.
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { DASHBOARD_DIR } from "../src/server/dashboard.js";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export async function buildDashboard(outDir = DASHBOARD_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [here("src/main.ts")],
    outfile: `${outDir}/app.js`,
    bundle: true,
    format: "esm",
    platform: "browser",
    // BigInt (uint64 ids) and fetch streaming: current evergreen browsers.
    target: ["chrome110", "firefox110", "safari16"],
    minify: true,
    legalComments: "none",
    logLevel: "warning",
  });
  await copyFile(here("index.html"), `${outDir}/index.html`);
  await copyFile(here("app.css"), `${outDir}/app.css`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await buildDashboard();
    console.log(`dashboard built into ${DASHBOARD_DIR}`);
  } catch (err) {
    // `npm start` passes --optional: an install without dev dependencies (no connect-web) still
    // starts the service, whose / then says the dashboard is not built.
    if (!process.argv.includes("--optional")) throw err;
    console.warn(`dashboard not built; the service starts without it:\n${err instanceof Error ? err.message : String(err)}`);
  }
}
