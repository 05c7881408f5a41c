"""A tour of email.v1.EmailService from Python over gRPC: the `email-outbox-example` command.

    pip install ./clients/python        # see clients/python/README.md
    email-outbox-example --url 127.0.0.1:8080 [--api-key KEY] [--account 1]

It sends a message (with one-click unsubscribe headers, tags and metadata) and waits for its
first attempt, saves a template (TemplateService) and sends with it and per-message data,
shows the reason of an INVALID_ARGUMENT,
then (when the server has allow_failure_mode) makes an attempt fail, re-drives the failed row
with RetryOutbox and watches it to SENT with WatchOutbox. Each step prints one JSON line. The
key needs the scopes send, templates, retry and watch; a refusal it does not expect is printed as
one line (code, reason, message) on stderr, and the command exits 1.
"""
import argparse
import json
import os
import sys

import grpc
from google.protobuf import struct_pb2

from email_outbox_client.email_v1 import email_service_pb2 as api
from email_outbox_client.email_v1 import email_service_pb2_grpc as api_grpc
from email_outbox_client.email_v1 import outbox_pb2 as outbox
from email_outbox_client.email_v1 import template_service_pb2 as tpl
from email_outbox_client.email_v1 import template_service_pb2_grpc as tpl_grpc
from email_outbox_client.errors import describe, error_details

TIMEOUT_S = 30


def show(step: str, **fields) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


def row(o: outbox.Outbox) -> dict:
    return {
        "outbox_id": o.outbox_id,
        "status": outbox.OutboxStatus.Name(o.status),
        "retries": o.retries,
        "message_id": o.message_id,
        "last_error": o.last_error,
        # `from` is a Python keyword: read the field with getattr (and set it with **{"from": ...}).
        "from": getattr(o, "from"),
        "tags": dict(o.tags),
        "metadata": dict(o.metadata),
        "subject": o.subject,
        "template": f"{o.template_name} v{o.template_version}" if o.template_name else "",
    }


RECEIPT = tpl.TemplateContent(
    subject="Receipt {{order.id}} for {{name}}",
    html="<p>Thanks, {{name}}!</p><ul>{{#each order.items}}<li>{{title}}: "
         "{{formatNumber price style='currency' currency='EUR' locale='de-DE'}}</li>{{/each}}</ul>",
    description="the Python tour's receipt",
)


def main() -> int:
    try:
        return tour()
    except grpc.RpcError as err:
        print(f"email-outbox-example: {describe(err)}", file=sys.stderr)
        return 1


def tour() -> int:
    parser = argparse.ArgumentParser(description="email.v1.EmailService from Python")
    parser.add_argument("--url", default="127.0.0.1:8080", help="host:port of the service (plaintext)")
    parser.add_argument("--api-key", default=os.environ.get("EMAIL_OUTBOX_API_KEY"), help="sent as 'authorization: Bearer KEY'")
    parser.add_argument("--account", type=int, default=1)
    parser.add_argument("--to", default="Bob <bob@example.com>")
    args = parser.parse_args()
    # Metadata per call: gRPC refuses call credentials on a plaintext channel.
    md = [("authorization", f"Bearer {args.api_key}")] if args.api_key else []

    with grpc.insecure_channel(args.url) as channel:
        stub = api_grpc.EmailServiceStub(channel)

        # 1. Send, waiting for the outcome of the first attempt. Headers go into the message; tags
        #    and metadata stay with the row (ListOutbox and WatchOutbox can filter by tag).
        sent = stub.Send(
            api.SendRequest(
                account_id=args.account, to=[args.to], subject="Hello from Python", body_text="Hi!", wait_for_attempt=True,
                headers={"List-Unsubscribe": "<https://example.com/unsubscribe/42>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
                tags={"campaign": "python-tour"}, metadata={"user_id": "42"},
            ),
            metadata=md, timeout=TIMEOUT_S,
        )
        show("send", **row(sent.outbox))

        # 2. A template saved on the server (a new version if it exists), then a Send that names it
        #    with its own data instead of a body: the server renders subject, HTML and text.
        templates = tpl_grpc.TemplateServiceStub(channel)
        try:
            saved = templates.CreateTemplate(tpl.CreateTemplateRequest(account_id=args.account, name="python-receipt", content=RECEIPT),
                                             metadata=md, timeout=TIMEOUT_S)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            saved = templates.UpdateTemplate(tpl.UpdateTemplateRequest(account_id=args.account, name="python-receipt", content=RECEIPT),
                                             metadata=md, timeout=TIMEOUT_S)
        show("template", name=saved.template.name, version=saved.template.version)
        data = struct_pb2.Struct()
        data.update({"name": "Ada", "order": {"id": 42, "items": [{"title": "Tea", "price": 3.5}, {"title": "Crème", "price": 2}]}})
        templated = stub.Send(
            api.SendRequest(account_id=args.account, to=[args.to], template=tpl.TemplateRef(name="python-receipt", data=data),
                            wait_for_attempt=True),
            metadata=md, timeout=TIMEOUT_S,
        )
        show("templated", **row(templated.outbox))

        # 3. A request that can never be sent is refused before any row exists; the reason is stable.
        try:
            stub.Send(api.SendRequest(account_id=args.account, to=["not an address"], subject="x", body_text="y"), metadata=md, timeout=TIMEOUT_S)
            show("invalid", error="unexpectedly accepted")
            return 1
        except grpc.RpcError as err:
            info, violations = error_details(err)
            show("invalid", code=err.code().name, reason=info.reason, domain=info.domain, message=err.details(),
                 fields=[v.field for v in violations])

        # 4. An attempt that fails (simulated network timeout) leaves a FAILED row, not an RPC error.
        try:
            failed = stub.Send(
                api.SendRequest(account_id=args.account, to=[args.to], subject="Retried from Python", body_text="Second try.",
                                failure_mode=outbox.FAILURE_MODE_NETWORK, wait_for_attempt=True),
                metadata=md, timeout=TIMEOUT_S,
            )
        except grpc.RpcError as err:
            info, _ = error_details(err)
            if info.reason != "FAILURE_MODE_NOT_ALLOWED":
                raise
            show("failed", skipped="the server does not set allow_failure_mode")
            return 0
        show("failed", **row(failed.outbox))
        outbox_id = failed.outbox.outbox_id

        # 5. Watch the row (its current state first), re-drive it with RetryOutbox, and follow it to SENT.
        watch = stub.WatchOutbox(api.WatchOutboxRequest(outbox_ids=[outbox_id], include_current=True), metadata=md, timeout=TIMEOUT_S)
        events = []
        try:
            for res in watch:
                if res.WhichOneof("message") != "event":
                    continue
                events.append(api.OutboxEventKind.Name(res.event.kind))
                if res.event.kind == api.OUTBOX_EVENT_KIND_SNAPSHOT:
                    # Force: the automatic retry is not due yet.
                    retried = stub.RetryOutbox(api.RetryOutboxRequest(outbox_id=outbox_id, force=True), metadata=md, timeout=TIMEOUT_S)
                    show("retry", **row(retried.outbox))
                if res.event.status == outbox.OUTBOX_STATUS_SENT:
                    show("watch", outbox_id=outbox_id, events=events, message_id=res.event.message_id,
                         provider_message_id=res.event.provider_message_id)
                    break
        finally:
            watch.cancel()
    return 0


if __name__ == "__main__":
    sys.exit(main())
