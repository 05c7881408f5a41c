"""Python client of the email-outbox service (email.v1.EmailService over gRPC).

The generated stubs are email_outbox_client.email_v1 (email_service_pb2, email_service_pb2_grpc,
outbox_pb2, mailbox_service_pb2, template_service_pb2, template_service_pb2_grpc) and email_outbox_client.google.rpc (status_pb2,
error_details_pb2); the helpers below read a refusal's details.
"""
from email_outbox_client.errors import describe, error_details, error_reason

__all__ = ["describe", "error_details", "error_reason"]
