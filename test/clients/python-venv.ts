// A venv with the Python client installed as users install it: `pip install ./clients/python`,
// offline, on Debian's grpcio, protobuf and setuptools (--system-site-packages,
// --no-build-isolation). The build writes into the source tree (setup.py generates the stubs
// there, setuptools stages the wheel in build/), so two test files installing at once would trip
// over each other's files: the install holds a lock (flock) for its whole run.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { requirePackage } from "../helpers/requires.js";

const run = promisify(execFile);
export const PYTHON = "/usr/bin/python3";
const ROOT = path.resolve(import.meta.dirname, "../..");
const INSTALL_LOCK = path.join(tmpdir(), "email-outbox-python-client.lock");

/** Whether Debian's interpreter imports these modules (`"grpc, pymysql"`). */
export function pythonHas(modules: string): boolean {
  try {
    execFileSync(PYTHON, ["-c", `import ${modules}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface PythonVenv {
  /** The venv's directory: its programs are in bin/. */
  dir: string;
  remove(): void;
}

/** A new venv with the client installed; `modules` are what the test imports besides it. */
export async function pythonClientVenv(prefix: string, extra?: { modules: string; pkg: string }): Promise<PythonVenv> {
  requirePackage(
    pythonHas("grpc, grpc_tools, setuptools, venv"),
    `${PYTHON} with grpc, grpc_tools, setuptools and venv`,
    "python3-grpcio python3-grpc-tools python3-setuptools python3-venv",
  );
  if (extra) requirePackage(pythonHas(extra.modules), `${PYTHON} with ${extra.modules}`, extra.pkg);
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await run(PYTHON, ["-m", "venv", "--system-site-packages", dir]);
    await run(
      "flock",
      [INSTALL_LOCK, path.join(dir, "bin", "pip"), "install", "--no-index", "--no-build-isolation", "--quiet", "./clients/python"],
      { cwd: ROOT, timeout: 120_000 },
    );
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}
