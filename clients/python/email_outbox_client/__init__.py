"""Python client of the email-outbox service (email.v1.EmailService over gRPC).

The generated stubs are email_outbox_client.email_v1 (email_service_pb2, email_service_pb2_grpc,
outbox_pb2, mailbox_service_pb2, template_service_pb2, template_service_pb2_grpc) and
email_outbox_client.google.rpc (status_pb2, error_details_pb2); the helpers below read a
refusal's details, and enqueue_in_transaction writes a request to the outbox_request table inside
the application's own database transaction.
"""
from email_outbox_client.errors import describe, error_details, error_reason
from email_outbox_client.outbox_request import enqueue_in_transaction

__all__ = ["describe", "enqueue_in_transaction", "error_details", "error_reason"]
