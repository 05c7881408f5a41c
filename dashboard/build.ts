// Builds the dashboard into dist/dashboard with esbuild: one browser bundle (connect-web, the
// generated messages and the page's code), the page and its stylesheet. `npm run build` runs it
// with the service's build, `npm run build:dashboard` alone, and so does the dashboard test.
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { DASHBOARD_DIR } from "../src/api/dashboard.js";

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
  await buildDashboard();
  console.log(`dashboard built into ${DASHBOARD_DIR}`);
}
