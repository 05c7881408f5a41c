"""Reading a refusal: the google.rpc.ErrorInfo (its stable reason) and BadRequest field violations
from the `grpc-status-details-bin` trailer of a grpc.RpcError."""
import grpc

from email_outbox_client.google.rpc import error_details_pb2, status_pb2


def error_details(err: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, list[error_details_pb2.BadRequest.FieldViolation]]:
    """The ErrorInfo (empty when there is none) and the field violations of a refused call."""
    info = error_details_pb2.ErrorInfo()
    violations: list[error_details_pb2.BadRequest.FieldViolation] = []
    for key, value in err.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for detail in status_pb2.Status.FromString(value).details:
            bad = error_details_pb2.BadRequest()
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR) and detail.Unpack(bad):
                violations.extend(bad.field_violations)
    return info, violations


def error_reason(err: grpc.RpcError) -> str:
    """The ErrorInfo reason, e.g. ADDRESS_INVALID or SCOPE_NOT_ALLOWED ("" when there is none)."""
    return error_details(err)[0].reason


def describe(err: grpc.RpcError) -> str:
    """One line: code, reason and message, e.g. `PERMISSION_DENIED SCOPE_NOT_ALLOWED: ...`."""
    reason = error_reason(err)
    return f"{err.code().name}{' ' + reason if reason else ''}: {err.details()}"
