"""Bad input and provider faults reach the client as clear statuses with details."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite

PROMPT = [generation_pb2.Message(role="user", content="hello")]


def rich_status(error: grpc.RpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, object] = {}
    for detail in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.RetryInfo,
            error_details_pb2.BadRequest,
        ):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found[kind.DESCRIPTOR.name] = message
    return found


def generate(suite: Suite, request: chat_pb2.GenerateRequest) -> grpc.RpcError:
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    with pytest.raises(grpc.RpcError) as caught:
        stub.Generate(request, metadata=suite.auth(), timeout=10)
    return caught.value


def test_invalid_request_lists_every_bad_field(suite: Suite) -> None:
    error = generate(
        suite,
        chat_pb2.GenerateRequest(
            messages=[generation_pb2.Message(role="robot", content="")],
            max_tokens=-1,
            temperature=7.0,
        ),
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = rich_status(error)
    fields = {v.field for v in details["BadRequest"].field_violations}  # type: ignore[attr-defined]
    assert fields == {"messages[0].role", "messages[0].content", "max_tokens", "temperature"}
    assert details["ErrorInfo"].reason == "INVALID_ARGUMENT"  # type: ignore[attr-defined]


def test_empty_conversation_is_invalid_argument(suite: Suite) -> None:
    error = generate(suite, chat_pb2.GenerateRequest())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_model_is_invalid_argument(suite: Suite) -> None:
    error = generate(suite, chat_pb2.GenerateRequest(messages=PROMPT, model="no-such-model"))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no-such-model" in (error.details() or "")


def test_every_provider_failing_is_unavailable_with_retry_info(suite: Suite) -> None:
    suite.set_faults("sim-a", status=503)
    suite.set_faults("sim-b", status=500)
    error = generate(suite, chat_pb2.GenerateRequest(messages=PROMPT))
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    details = rich_status(error)
    assert "RetryInfo" in details
    assert "Traceback" not in (error.details() or "")


def test_content_refusal_is_failed_precondition(suite: Suite) -> None:
    suite.set_faults("sim-a", refuse=True)
    before = suite.stats("sim-a")["requests"]
    error = generate(suite, chat_pb2.GenerateRequest(messages=PROMPT))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    # A refusal is about the content: it is neither retried nor sent elsewhere.
    assert suite.stats("sim-a")["requests"] == before + 1
