// The pieces the config schema is made of: objects that refuse unknown keys, settings read into
// frozen camelCase objects, numbers with their bounds, flags, names. Each setting carries its
// default and description, from which the JSON Schema and the reference are generated; each
// message says where it is with {path} or {field} (errors.ts).
import * as v from "valibot";
import { unknownSetting } from "./errors.js";

/** Node's timers cannot wait longer (2^31 - 1 ms, about 24.8 days): a longer value fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/** DNS labels separated by dots. */
export const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
/** At least two labels: a domain such as example.com. */
export const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
/** An object, not an array (which valibot's object and record schemas would take); put before one. */
export const plainObject = (message: v.ErrorMessage<v.CustomIssue>) => v.custom<Record<string, unknown>>(isObject, message);

/**
 * An object that refuses any key not in `entries` (and an array). `messages` holds the message for
 * a key that is missing (one of entries) or refused for a reason (not one of them); a missing key
 * otherwise gets the message its own schema gives to nothing.
 */
export function object<const E extends v.ObjectEntries>(description: string, entries: E, messages: Readonly<Record<string, string>> = {}) {
  const notObject = (issue: v.CustomIssue) => (issue.input === undefined ? "{path} is required" : "{path} must be an object");
  const strict = v.strictObject(entries, (issue) => {
    const key = String(issue.path![0]!.key);
    if (issue.expected === "never") return messages[key] ?? unknownSetting(key, Object.keys(entries));
    return messages[key] ?? v.safeParse(entries[key]!, undefined).issues?.[0]?.message ?? "{path} is required";
  });
  return v.pipe(plainObject(notObject), strict, v.description(description));
}

type Camel<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
export type CamelKeys<T> = { readonly [K in keyof T as Camel<K & string>]: T[K] };

/** The object frozen, its snake_case keys (the file's) in camelCase (the code's). */
export function camelKeys<T extends object>(obj: T): CamelKeys<T> {
  const entries = Object.entries(obj).map(([key, value]) => [key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), value]);
  return Object.freeze(Object.fromEntries(entries)) as CamelKeys<T>;
}

/** A section of settings the code reads as they are: an object, frozen, its keys in camelCase. */
export function settings<const E extends v.ObjectEntries>(description: string, entries: E, messages?: Readonly<Record<string, string>>) {
  return v.pipe(object(description, entries, messages), v.transform(camelKeys));
}

/** A string that matches `pattern`; `message` for anything else. */
export const matching = (pattern: RegExp, message: string, description: string) =>
  v.pipe(v.string(message), v.description(description), v.regex(pattern, message));

/** An integer in min..max; `message` for anything else. */
export const integer = (min: number, max: number, message: string, description: string) =>
  v.pipe(v.number(message), v.description(description), v.integer(message), v.minValue(min, message), v.maxValue(max, message));

const POSITIVE = "{field} must be a positive integer";
/** A positive integer: a count, a size, or an age in ms (which may exceed the timer limit). */
export const positive = (description: string) =>
  v.pipe(v.number(POSITIVE), v.description(description), v.integer(POSITIVE), v.minValue(1, POSITIVE));
export const count = (fallback: number, description: string) => v.optional(positive(description), fallback);

const TIMER = `{field} must be a positive integer of at most ${MAX_TIMER_MS}`;
/** A delay in ms that a timer waits, so at most MAX_TIMER_MS. */
export const timer = (fallback: number, description: string) =>
  v.optional(
    v.pipe(
      v.number(TIMER),
      v.description(description),
      v.integer(TIMER),
      v.minValue(1, TIMER),
      v.maxValue(MAX_TIMER_MS, `{field} must be at most ${MAX_TIMER_MS} (about 24.8 days; Node timers cannot wait longer)`),
    ),
    fallback,
  );

export const flag = (fallback: boolean, description: string, message = "{field} must be true or false") =>
  v.optional(v.pipe(v.boolean(message), v.description(description)), fallback);

export const text = (description: string, message = "{path} must be a string") => v.pipe(v.string(message), v.description(description));

/** The name of an environment variable that holds a secret, so the file need not. */
export const envName = (description: string, message = "{path} must name an environment variable") =>
  v.pipe(v.string(message), v.description(description), v.nonEmpty(message));

/** No value twice. */
export const unique = (values: readonly unknown[]) => new Set(values).size === values.length;
