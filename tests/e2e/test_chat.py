"""Chat through the whole suite: gateway -> domain -> inference -> simulator."""

from __future__ import annotations

import grpc
import pytest
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite

PROMPT = [generation_pb2.Message(role="user", content="Tell me about circuit breakers")]


def chat_stub(suite: Suite) -> chat_pb2_grpc.ChatServiceStub:
    return chat_pb2_grpc.ChatServiceStub(suite.channel())


def test_generate_answers_with_text_usage_cost_and_provenance(suite: Suite) -> None:
    reply = chat_stub(suite).Generate(
        chat_pb2.GenerateRequest(messages=PROMPT, request_id="e2e-unary-1"),
        metadata=suite.auth(),
        timeout=10,
    )
    assert reply.text.strip()
    assert reply.request_id == "e2e-unary-1"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert reply.usage.cost_micros > 0 and reply.usage.currency == "USD"
    assert reply.finish_reason == generation_pb2.FINISH_REASON_STOP
    assert reply.provenance.source == generation_pb2.ANSWER_SOURCE_MODEL
    assert reply.provenance.provider == "sim-a"
    assert reply.provenance.model == "sim-small"
    assert not reply.provenance.degraded


def test_stream_sends_text_deltas_then_one_summary(suite: Suite) -> None:
    stub = chat_stub(suite)
    unary = stub.Generate(
        chat_pb2.GenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=10
    )
    messages = list(
        stub.StreamGenerate(
            chat_pb2.StreamGenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=10
        )
    )
    *deltas, last = messages
    assert len(deltas) > 5
    assert all(m.text and not m.HasField("usage") for m in deltas)
    assert "".join(m.text for m in deltas) == unary.text
    assert last.text == ""
    assert last.usage.output_tokens == unary.usage.output_tokens
    assert last.usage.input_tokens == unary.usage.input_tokens
    assert last.usage.cost_micros == unary.usage.cost_micros
    assert last.finish_reason == generation_pb2.FINISH_REASON_STOP
    assert last.provenance.provider == "sim-a"
    assert len({m.request_id for m in messages}) == 1 and messages[0].request_id


def test_max_tokens_bounds_the_answer(suite: Suite) -> None:
    reply = chat_stub(suite).Generate(
        chat_pb2.GenerateRequest(messages=PROMPT, max_tokens=5), metadata=suite.auth(), timeout=10
    )
    assert reply.usage.output_tokens == 5
    assert reply.finish_reason == generation_pb2.FINISH_REASON_LENGTH


def test_call_without_api_key_is_unauthenticated(suite: Suite) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        chat_stub(suite).Generate(chat_pb2.GenerateRequest(messages=PROMPT), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_call_with_unknown_api_key_is_unauthenticated(suite: Suite) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        list(
            chat_stub(suite).StreamGenerate(
                chat_pb2.StreamGenerateRequest(messages=PROMPT),
                metadata=suite.auth("keel_not-a-real-key"),
                timeout=10,
            )
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "keel_not-a-real-key" not in (caught.value.details() or "")


def test_switching_to_a_fallback_provider_is_reported_as_degraded(suite: Suite) -> None:
    suite.set_faults("sim-a", status=503)
    reply = chat_stub(suite).Generate(
        chat_pb2.GenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=10
    )
    assert reply.text
    assert reply.provenance.provider == "sim-b"
    assert reply.provenance.degraded
    assert reply.provenance.attempts >= 2
