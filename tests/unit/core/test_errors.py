"""Errors become google.rpc.Status with exactly one ErrorInfo and the details that apply."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status._common import GRPC_DETAILS_METADATA_KEY

from services.core.errors import (
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
    Unavailable,
    details_of,
)


def unpack(status: status_pb2.Status, kind: type) -> list:
    found = []
    for detail in status.details:
        if detail.Is(kind.DESCRIPTOR):
            message = kind()
            detail.Unpack(message)
            found.append(message)
    return found


def test_every_error_carries_exactly_one_error_info() -> None:
    status = Unavailable("provider down", reason="PROVIDERS_UNAVAILABLE").to_status_proto()
    infos = unpack(status, error_details_pb2.ErrorInfo)
    assert len(infos) == 1
    assert infos[0].reason == "PROVIDERS_UNAVAILABLE" and infos[0].domain == "keel.dev"


def test_code_and_message_are_the_grpc_ones() -> None:
    status = Unavailable("provider down").to_status_proto()
    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert status.message == "provider down"


def test_retry_after_becomes_retry_info() -> None:
    status = Unavailable("busy", retry_after_s=1.5).to_status_proto()
    (retry,) = unpack(status, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToMilliseconds() == 1500


def test_field_violations_become_bad_request() -> None:
    error = InvalidArgument(
        "bad", field_violations=[FieldViolation("messages", "required"), FieldViolation("x", "y")]
    )
    (bad,) = unpack(error.to_status_proto(), error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("messages", "required"),
        ("x", "y"),
    ]


def test_quota_violations_become_quota_failure_with_retry_info() -> None:
    error = ResourceExhausted(
        "slow down", retry_after_s=2, quota_violations=[QuotaViolation("tenant:acme", "rpm")]
    )
    details = details_of(error.to_status_proto())
    assert details["QuotaFailure"].violations[0].subject == "tenant:acme"  # type: ignore[attr-defined]
    assert details["RetryInfo"].retry_delay.seconds == 2  # type: ignore[attr-defined]


def test_status_travels_in_the_standard_trailer() -> None:
    grpc_status = Unavailable("down").to_status()
    assert grpc_status.code == grpc.StatusCode.UNAVAILABLE
    ((key, value),) = grpc_status.trailing_metadata
    assert key == GRPC_DETAILS_METADATA_KEY
    assert status_pb2.Status.FromString(value).message == "down"
