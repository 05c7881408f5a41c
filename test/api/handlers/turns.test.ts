// Turns: at most `limit` at a time, the rest in order, and a failure gives its turn back too.
import { expect, test } from "vitest";
import { Turns } from "../../../src/api/handlers/turns.js";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

test("a third caller waits until one of two ends; order is kept; a failure ends a turn", async () => {
  const turns = new Turns(2);
  const started: string[] = [];
  const gates = { a: gate(), b: gate(), c: gate(), d: gate() };
  const run = (name: keyof typeof gates, fail = false) =>
    turns.run(async () => {
      started.push(name);
      await gates[name].opened;
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const a = run("a", true);
  const b = run("b");
  const c = run("c");
  const d = run("d");
  await Promise.resolve();
  expect(started).toEqual(["a", "b"]);
  gates.a.open();
  await expect(a).rejects.toThrow("a failed");
  await expect.poll(() => started).toEqual(["a", "b", "c"]);
  gates.c.open();
  await expect(c).resolves.toBe("c");
  await expect.poll(() => started).toEqual(["a", "b", "c", "d"]);
  gates.b.open();
  gates.d.open();
  await expect(Promise.all([b, d])).resolves.toEqual(["b", "d"]);
  // Both turns are free again.
  const both = [turns.run(async () => 1), turns.run(async () => 2)];
  await expect(Promise.all(both)).resolves.toEqual([1, 2]);
});
