// The application's side of the outbox_request contract (docs/outbox-request.md): the request is
// written on the application's own connection, inside its own transaction, so the email exists if
// and only if that transaction commits. The service takes it from there.
import { create, isMessage, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { SendRequestSchema, type SendRequest } from "../../gen/email/v1/email_service_pb.js";

/** A mysql2/promise connection (or pool connection): the one the application's transaction runs on. */
export interface SqlConnection {
  query(sql: string, values?: unknown): Promise<unknown>;
}

export interface EnqueueOptions {
  /** The table; qualify it when the connection's database is another: "email.outbox_request". */
  table?: string;
}

const TABLE = /^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$/;

/**
 * Inserts the request (a SendRequest, or the fields of one) as its proto JSON, with its accountId
 * as the row's account_id; returns the request's id, under which the service writes its answer
 * (outbox_id, or error_reason and error_message) once the transaction has committed.
 */
export async function enqueueInTransaction(
  conn: SqlConnection,
  request: SendRequest | MessageInitShape<typeof SendRequestSchema>,
  opts: EnqueueOptions = {},
): Promise<number> {
  const msg = isMessage(request, SendRequestSchema) ? request : create(SendRequestSchema, request);
  if (msg.accountId <= 0) throw new Error("enqueueInTransaction: the request needs its accountId");
  const table = opts.table ?? "outbox_request";
  if (!TABLE.test(table)) throw new Error(`enqueueInTransaction: not a table name: ${JSON.stringify(table)}`);
  const quoted = table
    .split(".")
    .map((part) => `\`${part}\``)
    .join(".");
  const [result] = (await conn.query(`INSERT INTO ${quoted} (account_id, request) VALUES (?, ?)`, [
    msg.accountId,
    toJsonString(SendRequestSchema, msg),
  ])) as [{ insertId: number | string }];
  return Number(result.insertId);
}
