// npm run key:create -- --accounts 1,2 --scopes send,read [--id name]
// Prints a new API key once, and the entry to add to the config file's "api_keys".
import { newKey, USAGE, UsageError } from "../src/api/auth/new-key.js";

try {
  const { key, entry } = newKey(process.argv.slice(2));
  process.stdout.write(
    `API key (shown only now; store it in your client's secret store):\n${key}\n\n` +
      `Add this entry to "api_keys" in the config file:\n${JSON.stringify(entry)}\n`,
  );
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${err.message}\n${USAGE}\n`);
  process.exitCode = 2;
}
