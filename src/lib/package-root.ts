// The directory of the service's package.json, found from this module's location. The same
// answer whether the code runs from source (src/...) or built (dist/main.js bundles every module),
// so files beside package.json (migrations/, dist/dashboard/) are found either way.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
