"""Generation through the inference service: the plain path, usage, cost, provenance."""

from __future__ import annotations

import math

import grpc
import pytest
from keel.v1 import generation_pb2

from tests.e2e.inference.conftest import Keel


async def test_generate_answers_from_the_primary_with_reported_usage_and_cost(keel: Keel) -> None:
    client = await keel.start()
    response = await client.generate(model="sim-small")
    stats = await client.stats("sim-a")
    assert response.text
    assert response.usage.output_tokens == stats["tokens_out"]
    assert response.usage.input_tokens == stats["tokens_in"]
    expected = math.ceil(stats["tokens_in"] * 150000 / 1e6) + math.ceil(
        stats["tokens_out"] * 600000 / 1e6
    )
    assert response.usage.cost_micros == expected
    assert response.usage.currency == "USD"
    assert response.finish_reason == generation_pb2.FINISH_REASON_STOP
    p = response.provenance
    assert (p.source, p.provider, p.model, p.attempts, p.degraded) == (
        generation_pb2.ANSWER_SOURCE_MODEL,
        "sim-a",
        "sim-small",
        1,
        False,
    )


async def test_stream_sends_deltas_then_one_summary_message(keel: Keel) -> None:
    client = await keel.start()
    deltas, last = await client.stream()
    unary = await client.generate()
    assert len(deltas) > 5
    assert "".join(deltas) == unary.text
    assert last.text == ""
    assert last.usage.output_tokens == len(deltas)
    assert last.provenance.provider == "sim-a"


async def test_unknown_model_is_invalid_argument_naming_it(keel: Keel) -> None:
    client = await keel.start()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.generate(model="no-such-model")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no-such-model" in (caught.value.details() or "")
    assert (await client.stats("sim-a"))["requests"] == 0


async def test_empty_conversation_is_invalid_argument(keel: Keel) -> None:
    client = await keel.start()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.generate(messages=[])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
