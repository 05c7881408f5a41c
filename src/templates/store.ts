// The templates of each account, in two tables: `template` (one row per name: the latest version,
// deleted or not) and `template_version` (every saved version, never changed). A save locks the
// template's row, and the layout's, so the one-level layout rule holds under concurrent saves.
import type { JsonObject } from "@bufbuild/protobuf";
import { inTransaction, type Pool, type PoolConnection, type Queryable } from "../db/pool.js";
import { select, selectOne } from "../db/query.js";
import { isDuplicateKey } from "../outbox/enqueue.js";
import { placesBody } from "./layout.js";

/** What one version holds. */
export interface VersionContent {
  subject: string;
  /** As saved: MJML as given. */
  html: string;
  /** MJML's output, the HTML that is rendered; null when html is plain HTML. */
  compiledHtml: string | null;
  text: string;
  layout: string | null;
  description: string;
  sampleData: JsonObject | null;
}

export interface TemplateVersion extends VersionContent {
  accountId: number;
  name: string;
  version: number;
  latestVersion: number;
  createdAt: number;
}

export interface TemplateSummary {
  accountId: number;
  name: string;
  latestVersion: number;
  description: string;
  layout: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface VersionSummary {
  version: number;
  description: string;
  layout: string | null;
  mjml: boolean;
  createdAt: number;
}

/** Why a save or delete was refused. */
export type TemplateRefusal = {
  refused: "TEMPLATE_EXISTS" | "TEMPLATE_NOT_FOUND" | "TEMPLATE_LAYOUT_INVALID" | "TEMPLATE_IN_USE";
  message: string;
};

/** What a send needs to find its compiled parts: the version, and its layout's latest version. */
export interface SendTarget {
  version: number;
  layout: string | null;
  /** null when the layout is named but deleted. */
  layoutVersion: number | null;
}

interface VersionDbRow {
  account_id: number;
  name: string;
  version: number;
  latest_version: number;
  subject: string;
  html: string;
  compiled_html: string | null;
  text_body: string;
  layout: string | null;
  description: string;
  sample_data: unknown;
  created_at: number;
}

interface SummaryDbRow {
  account_id: number;
  name: string;
  latest_version: number;
  description: string;
  layout: string | null;
  created_at: number;
  updated_at: number;
}

const VERSION_COLUMNS = `v.account_id, v.name, v.version, t.latest_version, v.subject, v.html, v.compiled_html, v.text_body, v.layout,
  v.description, v.sample_data, v.created_at`;
const LATEST = "v.account_id = t.account_id AND v.name = t.name AND v.version = t.latest_version";

function toVersion(r: VersionDbRow): TemplateVersion {
  const sample: unknown = typeof r.sample_data === "string" ? JSON.parse(r.sample_data) : r.sample_data;
  return {
    accountId: r.account_id,
    name: r.name,
    version: r.version,
    latestVersion: r.latest_version,
    subject: r.subject,
    html: r.html,
    compiledHtml: r.compiled_html,
    text: r.text_body,
    layout: r.layout,
    description: r.description,
    sampleData: sample && typeof sample === "object" && !Array.isArray(sample) ? (sample as JsonObject) : null,
    createdAt: Number(r.created_at),
  };
}

/**
 * Saves a version: version 1 of a new name ("create"; a deleted name continues its numbers) or
 * the next one of a live template ("update"). Checks the layout rules under the rows' locks.
 */
export async function saveVersion(
  pool: Pool,
  accountId: number,
  name: string,
  content: VersionContent,
  now: number,
  mode: "create" | "update",
): Promise<TemplateVersion | TemplateRefusal> {
  try {
    return await inTransaction(pool, async (conn) => {
      const own = await selectOne<{ latest_version: number; deleted_at: number | null }>(
        conn,
        "SELECT latest_version, deleted_at FROM template WHERE account_id = ? AND name = ? FOR UPDATE",
        [accountId, name],
      );
      const live = own !== undefined && own.deleted_at === null;
      if (mode === "create" && live)
        return { refused: "TEMPLATE_EXISTS", message: `the account already has a template named ${name}` } as const;
      if (mode === "update" && !live) return notFound(name);
      const refusal = await layoutRefusal(conn, accountId, name, content);
      if (refusal) return refusal;
      const version = (own?.latest_version ?? 0) + 1;
      if (own) {
        await conn.query("UPDATE template SET latest_version = ?, deleted_at = NULL, updated_at = ? WHERE account_id = ? AND name = ?", [
          version,
          now,
          accountId,
          name,
        ]);
      } else {
        await conn.query("INSERT INTO template (account_id, name, latest_version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)", [
          accountId,
          name,
          now,
          now,
        ]);
      }
      await conn.query(
        `INSERT INTO template_version (account_id, name, version, subject, html, compiled_html, text_body, layout, description, sample_data,
           created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          accountId,
          name,
          version,
          content.subject,
          content.html,
          content.compiledHtml,
          content.text,
          content.layout,
          content.description,
          content.sampleData ? JSON.stringify(content.sampleData) : null,
          now,
        ],
      );
      return { ...content, accountId, name, version, latestVersion: version, createdAt: now };
    });
  } catch (err) {
    // Two creates of a new name at once: the second finds the first's row.
    if (isDuplicateKey(err)) return { refused: "TEMPLATE_EXISTS", message: `the account already has a template named ${name}` };
    throw err;
  }
}

/**
 * One level of layouts: the layout exists, has no layout itself and places {{{body}}}; a template
 * that is another's layout gets no layout and keeps placing {{{body}}}.
 */
async function layoutRefusal(
  conn: PoolConnection,
  accountId: number,
  name: string,
  content: VersionContent,
): Promise<TemplateRefusal | undefined> {
  const invalid = (message: string) => ({ refused: "TEMPLATE_LAYOUT_INVALID", message }) as const;
  if (content.layout !== null) {
    if (content.layout === name) return invalid("a template cannot be its own layout");
    const layout = await selectOne<{ layout: string | null; html: string; compiled_html: string | null; text_body: string }>(
      conn,
      `SELECT v.layout, v.html, v.compiled_html, v.text_body FROM template t JOIN template_version v ON ${LATEST}
       WHERE t.account_id = ? AND t.name = ? AND t.deleted_at IS NULL FOR UPDATE`,
      [accountId, content.layout],
    );
    if (!layout) return invalid(`the account has no template named ${content.layout} to use as the layout`);
    if (layout.layout !== null) return invalid(`${content.layout} has a layout itself; layouts are one level deep`);
    if (!placesBody(layout.compiled_html ?? layout.html, layout.text_body))
      return invalid(`${content.layout} does not place the content with {{{body}}}`);
  }
  const user = await layoutUser(conn, accountId, name);
  if (user !== undefined && content.layout !== null) return invalid(`${name} is the layout of ${user}, so it cannot have a layout itself`);
  if (user !== undefined && !placesBody(content.compiledHtml ?? content.html, content.text)) {
    return invalid(`${name} is the layout of ${user}, so it must place the content with {{{body}}}`);
  }
  return undefined;
}

/** A live template whose latest version uses `name` as its layout, if any. */
async function layoutUser(db: Queryable, accountId: number, name: string): Promise<string | undefined> {
  const row = await selectOne<{ name: string }>(
    db,
    `SELECT t.name FROM template_version v JOIN template t ON ${LATEST}
     WHERE v.account_id = ? AND v.layout = ? AND t.deleted_at IS NULL ORDER BY t.name LIMIT 1`,
    [accountId, name],
  );
  return row?.name;
}

function notFound(name: string): TemplateRefusal {
  return { refused: "TEMPLATE_NOT_FOUND", message: `the account has no template named ${name}` };
}

/** One version of a live template (the latest when none is named). */
export async function getVersion(db: Queryable, accountId: number, name: string, version?: number): Promise<TemplateVersion | undefined> {
  const row = await selectOne<VersionDbRow>(
    db,
    `SELECT ${VERSION_COLUMNS} FROM template t JOIN template_version v
       ON v.account_id = t.account_id AND v.name = t.name AND v.version = COALESCE(?, t.latest_version)
     WHERE t.account_id = ? AND t.name = ? AND t.deleted_at IS NULL`,
    [version ?? null, accountId, name],
  );
  return row && toVersion(row);
}

/** Which version a send renders (latest unless named). */
export interface TargetKey {
  accountId: number;
  name: string;
  version?: number;
}

const TARGET = `SELECT ? AS k, v.version, v.layout, l.latest_version AS layout_version FROM template t
    JOIN template_version v ON v.account_id = t.account_id AND v.name = t.name AND v.version = COALESCE(?, t.latest_version)
    LEFT JOIN template l ON l.account_id = v.account_id AND l.name = v.layout AND l.deleted_at IS NULL
  WHERE t.account_id = ? AND t.name = ? AND t.deleted_at IS NULL`;

/**
 * The version each send renders and its layout's latest version, for many sends in one statement
 * (each part a primary-key read); undefined where there is no such live template or version.
 */
export async function sendTargets(db: Queryable, keys: readonly TargetKey[]): Promise<(SendTarget | undefined)[]> {
  if (keys.length === 0) return [];
  const rows = await select<{ k: number; version: number; layout: string | null; layout_version: number | null }>(
    db,
    keys.map(() => `(${TARGET})`).join(" UNION ALL "),
    keys.flatMap((key, i) => [i, key.version ?? null, key.accountId, key.name]),
  );
  const found: (SendTarget | undefined)[] = keys.map(() => undefined);
  for (const r of rows) found[Number(r.k)] = { version: r.version, layout: r.layout, layoutVersion: r.layout_version };
  return found;
}

/** The parts of one version, deleted or not (versions never change, so this is cached by the caller). */
export async function versionContent(db: Queryable, accountId: number, name: string, version: number) {
  const row = await selectOne<{ subject: string; html: string; compiled_html: string | null; text_body: string }>(
    db,
    "SELECT subject, html, compiled_html, text_body FROM template_version WHERE account_id = ? AND name = ? AND version = ?",
    [accountId, name, version],
  );
  return row && { subject: row.subject, html: row.compiled_html ?? row.html, text: row.text_body };
}

/** A page of an account's live templates in name order, after `afterName`. */
export async function listTemplates(
  db: Queryable,
  accountId: number,
  afterName: string | undefined,
  limit: number,
): Promise<TemplateSummary[]> {
  const rows = await select<SummaryDbRow>(
    db,
    `SELECT t.account_id, t.name, t.latest_version, v.description, v.layout, t.created_at, t.updated_at
     FROM template t JOIN template_version v ON ${LATEST}
     WHERE t.account_id = ? AND t.deleted_at IS NULL AND t.name > ? ORDER BY t.name LIMIT ?`,
    [accountId, afterName ?? "", limit],
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    name: r.name,
    latestVersion: r.latest_version,
    description: r.description,
    layout: r.layout,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  }));
}

/** A page of a live template's versions, newest first, below `beforeVersion`; undefined when there is no such template. */
export async function listVersions(
  db: Queryable,
  accountId: number,
  name: string,
  beforeVersion: number | undefined,
  limit: number,
): Promise<VersionSummary[] | undefined> {
  const own = await selectOne<{ live: number }>(
    db,
    "SELECT 1 AS live FROM template WHERE account_id = ? AND name = ? AND deleted_at IS NULL",
    [accountId, name],
  );
  if (!own) return undefined;
  const rows = await select<{ version: number; description: string; layout: string | null; mjml: number; created_at: number }>(
    db,
    `SELECT version, description, layout, compiled_html IS NOT NULL AS mjml, created_at FROM template_version
     WHERE account_id = ? AND name = ? AND version < ? ORDER BY version DESC LIMIT ?`,
    [accountId, name, beforeVersion ?? 2 ** 32, limit],
  );
  return rows.map((r) => ({
    version: r.version,
    description: r.description,
    layout: r.layout,
    mjml: r.mjml === 1,
    createdAt: Number(r.created_at),
  }));
}

/** Deletes a live template (no new sends); refused while another live template uses it as its layout. */
export async function deleteTemplate(pool: Pool, accountId: number, name: string, now: number): Promise<TemplateRefusal | undefined> {
  return inTransaction(pool, async (conn) => {
    // Locked first: a save naming it as its layout locks it too, so the check below stays true.
    const own = await selectOne<{ live: number }>(
      conn,
      "SELECT 1 AS live FROM template WHERE account_id = ? AND name = ? AND deleted_at IS NULL FOR UPDATE",
      [accountId, name],
    );
    if (!own) return notFound(name);
    const user = await layoutUser(conn, accountId, name);
    if (user !== undefined)
      return { refused: "TEMPLATE_IN_USE", message: `${name} is the layout of ${user}; change or delete ${user} first` } as const;
    await conn.query("UPDATE template SET deleted_at = ?, updated_at = ? WHERE account_id = ? AND name = ?", [now, now, accountId, name]);
    return undefined;
  });
}
