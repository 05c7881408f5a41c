// npm run generate:config-docs (part of npm run generate): writes the config file's JSON Schema
// and its reference from the config schema in src/config/.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchemaText, configReference, REFERENCE_FILE, SCHEMA_FILE } from "./config-reference.js";

const root = fileURLToPath(new URL("..", import.meta.url));
writeFileSync(`${root}${SCHEMA_FILE}`, configJsonSchemaText());
writeFileSync(`${root}${REFERENCE_FILE}`, configReference());
console.log(`wrote ${SCHEMA_FILE} and ${REFERENCE_FILE}`);
