// config.schema.json and docs/configuration-reference.md are made from the config schema: the
// committed files must be what `npm run generate:config-docs` makes from it now.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { configJsonSchemaText, configReference, REFERENCE_FILE, SCHEMA_FILE } from "../../scripts/config-reference.js";

const ROOT = new URL("../../", import.meta.url);

test.each([
  [SCHEMA_FILE, configJsonSchemaText],
  [REFERENCE_FILE, configReference],
])("%s is as generated", (file, generate) => {
  expect(readFileSync(new URL(file, ROOT), "utf8"), `${file} is stale: run npm run generate:config-docs and commit it`).toBe(generate());
});

test("the schema refuses unknown keys and documents every setting", () => {
  const schema = JSON.parse(configJsonSchemaText());
  const objects: [string, { properties: Record<string, { description?: string }>; additionalProperties?: unknown }][] = [];
  const walk = (path: string, node: unknown): void => {
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (n.properties) objects.push([path, n as never]);
    for (const [key, child] of Object.entries(n)) walk(key === "properties" || key === "items" ? path : `${path}.${key}`, child);
  };
  walk("", schema);
  expect(objects.length).toBeGreaterThan(15);
  for (const [path, object] of objects) {
    expect(object.additionalProperties, path).toBe(false);
    for (const [key, property] of Object.entries(object.properties)) expect(property.description, `${path}.${key}`).toBeTruthy();
  }
});
