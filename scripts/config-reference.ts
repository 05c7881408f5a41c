// The config file's JSON Schema (for editors) and its reference (for people), both made from the
// one config schema in src/config/. scripts/generate-config-docs.ts writes them; a test checks
// that the committed files are what this makes now.
import { toJsonSchema, type JsonSchema } from "@valibot/to-json-schema";
import { configSchema } from "../src/config/schema.js";

export const SCHEMA_FILE = "config.schema.json";
export const REFERENCE_FILE = "docs/configuration-reference.md";

/**
 * The JSON Schema of what the file holds: of each pipe its last schema, the file's shape (a guard
 * before it only refuses arrays; transforms after it make the code's shape), without the checks
 * written as code, which JSON Schema cannot say.
 */
export function configJsonSchema(): JsonSchema {
  const ignoreActions = ["check", "trim", "to_lower_case", "transform"];
  const { $schema, ...schema } = toJsonSchema(configSchema, { typeMode: "output", ignoreActions });
  return { $schema, ...schema };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

/** Every setting: its type, default and description, one table per object of the file. */
export function configReference(schema: JsonSchema = configJsonSchema()): string {
  const out = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/ by `npm run generate:config-docs`: do not edit. -->",
    "",
    "The JSON file named by `EMAIL_OUTBOX_CONFIG`. Every key is optional unless marked required;",
    "a key not listed here is refused, naming its path. Its JSON Schema is",
    '[config.schema.json](../config.schema.json): start a file with `"$schema": "./config.schema.json"`',
    "(or the path to it) and an editor completes and checks it. Relative paths in the file are",
    "relative to the file.",
  ];
  section(out, "", schema);
  return `${out.join("\n")}\n`;
}

function section(out: string[], name: string, schema: JsonSchema): void {
  const properties = Object.entries(schema.properties ?? {}) as [string, JsonSchema][];
  out.push("", name ? `## \`${name}\`` : "## Top level", "");
  if (schema.description) out.push(cell(schema.description), "");
  out.push("| key | type | default | description |", "|---|---|---|---|");
  const nested: [string, JsonSchema][] = [];
  for (const [key, property] of properties) {
    const object = objectOf(property);
    const required = (schema.required ?? []).includes(key);
    // An object's default ({}) only stands for the defaults of its settings.
    const fallback = JSON.stringify(property.default ?? {});
    const shown = fallback === "{}" ? (required ? "required" : "—") : `\`${fallback}\``;
    out.push(`| \`${key}\` | ${typeOf(property)} | ${shown} | ${cell((object?.schema ?? property).description ?? "")} |`);
    if (object) nested.push([`${name ? `${name}.` : ""}${key}${object.list ? "[]" : ""}`, object.schema]);
  }
  for (const [path, object] of nested) section(out, path, object);
}

/** The object a property holds, itself or as the items of a list: it gets a section of its own. */
function objectOf(property: JsonSchema): { schema: JsonSchema; list: boolean } | undefined {
  if (property.properties) return { schema: property, list: false };
  const items = property.items as JsonSchema | undefined;
  return items?.properties ? { schema: { ...items, description: property.description ?? items.description }, list: true } : undefined;
}

function typeOf(schema: JsonSchema): string {
  if (schema.anyOf) return (schema.anyOf as JsonSchema[]).map(typeOf).join(" or ");
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return (schema.enum as unknown[]).map((value) => `\`${JSON.stringify(value)}\``).join(", ");
  if (schema.properties) return "object";
  if (schema.type === "array") {
    return `list of ${typeOf((schema.items ?? {}) as JsonSchema)}${schema.minItems ? ` (at least ${schema.minItems})` : ""}`;
  }
  if (schema.type === "object") return `object of ${typeOf((schema.additionalProperties ?? {}) as JsonSchema)}`;
  if (schema.type === "integer" || schema.type === "number") return `${schema.type}${range(schema)}`;
  if (schema.format === "uri") return "URL";
  return String(schema.type ?? "any");
}

function range(schema: JsonSchema): string {
  const { minimum, exclusiveMinimum, maximum } = schema;
  if (minimum !== undefined) return maximum === undefined ? ` ≥ ${minimum}` : ` ${minimum}…${maximum}`;
  const low = exclusiveMinimum === undefined ? "" : ` > ${exclusiveMinimum}`;
  return maximum === undefined ? low : `${low}${low ? "," : ""} ≤ ${maximum}`;
}

/** Plain text in a table cell: no markup, no HTML. */
const cell = (text: string) => text.replace(/[|*<>]/g, (c) => ({ "|": "\\|", "*": "\\*", "<": "&lt;", ">": "&gt;" })[c]!);
