"""The application's side of the outbox_request contract (docs/outbox-request.md in the service's
repository): a request is written on the application's own DB-API connection, inside its own
transaction, so the email exists if and only if that transaction commits. The service takes it
from there and writes its answer into the same row."""
import re

from google.protobuf import json_format

_TABLE = re.compile(r"^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$")


def enqueue_in_transaction(conn, request, table="outbox_request"):
    """Inserts `request`, an email.v1 SendRequest, as its proto JSON with its account_id as the
    row's account_id, and returns the request's id (the row the service answers in).

    `conn` is a DB-API connection or cursor of a MySQL driver with the %s paramstyle (PyMySQL,
    mysqlclient), inside the application's transaction: the caller commits or rolls back.
    `table` may be qualified ("email.outbox_request") when the connection's database is another.
    """
    if request.DESCRIPTOR.full_name != "email.v1.SendRequest":
        raise TypeError(f"enqueue_in_transaction: a SendRequest is needed, not {request.DESCRIPTOR.full_name}")
    if request.account_id <= 0:
        raise ValueError("enqueue_in_transaction: the request needs its account_id")
    if not _TABLE.match(table):
        raise ValueError(f"enqueue_in_transaction: not a table name: {table!r}")
    quoted = ".".join(f"`{part}`" for part in table.split("."))
    body = json_format.MessageToJson(request, indent=None)
    cursor = conn.cursor() if hasattr(conn, "cursor") else conn
    try:
        cursor.execute(f"INSERT INTO {quoted} (account_id, request) VALUES (%s, %s)", (request.account_id, body))
        return cursor.lastrowid
    finally:
        if cursor is not conn:
            cursor.close()
