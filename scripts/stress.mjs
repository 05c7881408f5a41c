// npm run test:stress: the whole `npm test` several times in a row (3 by default, or the first
// argument) while two CPU-bound processes compete for the cores, as on a busy CI machine. Stops
// at the first failing run; the burners end with it. A suite that never flakes passes this.
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";

const runs = Number(process.argv[2] ?? 3);
const burners = Array.from({ length: Math.max(2, availableParallelism()) }, () =>
  spawn(process.execPath, ["-e", "for(;;);"], { stdio: "ignore" }),
);
const stop = () => burners.forEach((b) => b.kill("SIGKILL"));
process.on("exit", stop);
process.on("SIGINT", () => process.exit(130));

let failed = 0;
for (let i = 1; i <= runs; i++) {
  console.log(`\n== stress run ${i} of ${runs}, with ${burners.length} CPU burners`);
  const started = Date.now();
  const r = spawnSync("npm", ["test"], { stdio: "inherit" });
  console.log(`== run ${i}: exit ${r.status} in ${Math.round((Date.now() - started) / 1000)} s`);
  if (r.status !== 0) {
    failed = i;
    break;
  }
}
stop();
console.log(failed ? `\nstress: run ${failed} failed` : `\nstress: ${runs} runs passed`);
process.exit(failed ? 1 : 0);
