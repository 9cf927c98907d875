"""The shared SSE decoder and the failure classification every adapter uses."""

from __future__ import annotations

import json

import pytest

from services.core.errors import FailedPrecondition, InvalidArgument
from services.inference.providers.classify import classify_http_error, classify_stream_error
from services.inference.providers.errors import (
    ContentRefused,
    ContextTooLong,
    RateLimited,
    RequestRejected,
    ServerError,
    TargetUnusable,
    TransientFailure,
)
from services.inference.providers.sse import SseDecoder


def decode(*chunks: bytes) -> list[tuple[str, str]]:
    decoder = SseDecoder()
    return [(e.event, e.data) for chunk in chunks for e in decoder.feed(chunk)]


def test_events_split_across_reads_and_multibyte_characters() -> None:
    data = 'data: {"t": "caf\u00e9"}\n\n'.encode()
    split = data.index(b"\xa9")  # inside the two bytes of the accented e
    assert decode(data[:split], data[split:]) == [("message", '{"t": "caf\u00e9"}')]


def test_crlf_cr_comments_event_names_and_multiline_data() -> None:
    stream = b": keep-alive\r\nevent: message_delta\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\r\n"
    assert decode(stream) == [("message_delta", "a\nb"), ("message", "c")]


def test_crlf_split_between_reads_is_one_line_end() -> None:
    assert decode(b"data: x\r", b"\n\r\n") == [("message", "x")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert decode(b"\n\nevent: ping\n\n") == []


def body(**error: object) -> bytes:
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(("status", "payload", "kind"), [
    (429, body(code="rate_limit_exceeded"), RateLimited),
    (500, body(type="server_error"), ServerError),
    (502, b"<html>bad gateway</html>", ServerError),
    (503, b"", ServerError),
    (504, b"", ServerError),
    (529, body(type="overloaded_error"), ServerError),
    (408, b"", ServerError),
    (400, body(code="content_policy_violation", message="rejected by our safety system"),
     ContentRefused),
    (400, body(code="context_length_exceeded", message="maximum context length is 8192"),
     ContextTooLong),
    (400, body(type="invalid_request_error", message="prompt is too long: 210000 tokens"),
     ContextTooLong),
    (413, body(type="request_too_large"), ContextTooLong),
    (400, body(type="invalid_request_error", message="temperature must be <= 2"),
     RequestRejected),
    (401, body(code="invalid_api_key"), TargetUnusable),
    (403, body(type="permission_error"), TargetUnusable),
    (404, body(code="model_not_found"), TargetUnusable),
    (429, body(code="insufficient_quota"), TargetUnusable),
])
def test_http_errors_are_classified(status: int, payload: bytes, kind: type) -> None:
    failure = classify_http_error(status, payload, {})
    assert type(failure) is kind
    assert failure.status == status


def test_only_transient_failures_are_retryable() -> None:
    assert isinstance(classify_http_error(503, b"", {}), TransientFailure)
    for status in (400, 401, 404):
        assert not isinstance(classify_http_error(status, b"", {}), TransientFailure)


def test_rate_limit_carries_the_retry_after() -> None:
    failure = classify_http_error(429, b"", {"retry-after": "3"})
    assert failure.retry_after_s == 3


def test_content_failures_map_to_the_documented_grpc_errors() -> None:
    refused = ContentRefused("no").to_keel_error("sim-a")
    assert isinstance(refused, FailedPrecondition) and refused.reason == "CONTENT_REFUSED"
    too_long = ContextTooLong("no").to_keel_error("sim-a")
    assert isinstance(too_long, InvalidArgument) and too_long.reason == "CONTEXT_TOO_LONG"
    assert too_long.field_violations[0].field == "messages"


def test_errors_inside_a_stream_are_classified() -> None:
    assert isinstance(classify_stream_error(
        {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}), ServerError)
    assert isinstance(classify_stream_error(
        {"error": {"type": "invalid_request_error", "code": "content_filter"}}), ContentRefused)
