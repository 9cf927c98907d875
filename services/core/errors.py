"""Errors with gRPC status codes and rich details (google.rpc.Status).

Handlers raise these; the server interceptor turns them into a status with
exactly one ErrorInfo plus RetryInfo, QuotaFailure or BadRequest where they
apply, carried in the grpc-status-details-bin trailer so clients in every
language can read them. Messages are for the client: no stack traces, no
secrets, no provider keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from grpc_status._common import GRPC_DETAILS_METADATA_KEY

ERROR_DOMAIN = "keel.dev"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass(frozen=True)
class QuotaViolation:
    subject: str
    description: str


class KeelError(Exception):
    """An error a client should see, with its code and machine-readable reason."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after_s: float | None = None,
        field_violations: Sequence[FieldViolation] = (),
        quota_violations: Sequence[QuotaViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})
        self.retry_after_s = retry_after_s
        self.field_violations = tuple(field_violations)
        self.quota_violations = tuple(quota_violations)

    def to_status_proto(self) -> status_pb2.Status:
        details = [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
            )
        ]
        if self.retry_after_s is not None:
            delay = duration_pb2.Duration()
            delay.FromMilliseconds(max(0, int(self.retry_after_s * 1000)))
            details.append(error_details_pb2.RetryInfo(retry_delay=delay))
        if self.field_violations:
            details.append(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in self.field_violations
                    ]
                )
            )
        if self.quota_violations:
            details.append(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject=v.subject, description=v.description
                        )
                        for v in self.quota_violations
                    ]
                )
            )
        packed = []
        for detail in details:
            any_detail = any_pb2.Any()
            any_detail.Pack(detail)
            packed.append(any_detail)
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=packed)

    def to_status(self) -> grpc.Status:
        return rpc_status.to_status(self.to_status_proto())


class InvalidArgument(KeelError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"


class Unauthenticated(KeelError):
    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(KeelError):
    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class NotFound(KeelError):
    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(KeelError):
    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class ResourceExhausted(KeelError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class FailedPrecondition(KeelError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class Unavailable(KeelError):
    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"


class DeadlineExceeded(KeelError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"


class Unimplemented(KeelError):
    code = grpc.StatusCode.UNIMPLEMENTED
    default_reason = "UNIMPLEMENTED"


class Internal(KeelError):
    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


def status_from_rpc_error(error: grpc.aio.AioRpcError) -> grpc.Status:
    """The status a peer sent, details included, to pass on unchanged."""
    return rpc_status.to_status(status_proto_from_rpc_error(error))


def details_of(status: status_pb2.Status) -> dict[str, object]:
    """Unpacked details of a status, by type name (for tests and the CLI)."""
    kinds = {
        "ErrorInfo": error_details_pb2.ErrorInfo,
        "RetryInfo": error_details_pb2.RetryInfo,
        "BadRequest": error_details_pb2.BadRequest,
        "QuotaFailure": error_details_pb2.QuotaFailure,
    }
    found: dict[str, object] = {}
    for detail in status.details:
        for name, kind in kinds.items():
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[name] = message
    return found


def status_proto_from_rpc_error(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    """The google.rpc.Status a peer sent, details included.

    A peer's rich status travels in its trailers; when it sent none (or one
    that disagrees with the call's code), a plain status is built.
    """
    code = error.code().value[0]
    for key, value in error.trailing_metadata() or ():
        if key == GRPC_DETAILS_METADATA_KEY:
            status = status_pb2.Status.FromString(value)
            if status.code == code:
                return status
    return status_pb2.Status(code=code, message=error.details() or error.code().name)
