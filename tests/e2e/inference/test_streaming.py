"""Streams: continuation after a cut, first-token and idle timeouts, cancellation."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from keel.inference.v1 import inference_pb2
from prometheus_client import REGISTRY

from tests.e2e.inference.conftest import HELLO, Keel


async def reference_text(keel: Keel) -> str:
    """The uninterrupted answer (the simulator's text depends only on the request)."""
    client = await keel.start()
    return (await client.generate()).text


async def test_stream_cut_after_20_tokens_continues_on_the_fallback_as_one_stream(
    keel: Keel,
) -> None:
    whole = await reference_text(keel)
    client = await keel.start(inference={"max_attempts_per_target": 1})
    await keel.control.set_faults("sim-a", cut_after_tokens=20)
    deltas, last = await client.stream()
    assert "".join(deltas) == whole
    # The fallback was asked to continue exactly the 20 tokens already sent.
    continuation = (await client.requests("sim-b"))[-1]
    assert continuation["messages"][-1] == {"role": "assistant", "content": "".join(deltas[:20])}
    a, b = await client.stats("sim-a"), await client.stats("sim-b")
    assert a["tokens_out"] == 20
    assert last.usage.output_tokens == a["tokens_out"] + b["tokens_out"]
    assert last.usage.input_tokens > b["tokens_in"]  # both prompts are counted
    assert (last.provenance.provider, last.provenance.attempts) == ("sim-b", 2)
    assert last.provenance.degraded
    assert "stream_cut" in last.provenance.degraded_reason


async def test_unary_generate_also_survives_a_cut_stream(keel: Keel) -> None:
    whole = await reference_text(keel)
    client = await keel.start(inference={"max_attempts_per_target": 1})
    await keel.control.set_faults("sim-a", cut_after_tokens=7)
    answer = await client.generate()
    assert answer.text == whole
    assert answer.provenance.attempts == 2


async def test_first_token_timeout_falls_back_and_closes_the_slow_request(keel: Keel) -> None:
    client = await keel.start(
        inference={"first_token_timeout_s": 0.2, "max_attempts_per_target": 1}
    )
    await keel.control.set_faults("sim-a", ttft_ms=3000)
    started = time.monotonic()
    deltas, last = await client.stream()
    assert time.monotonic() - started < 1.0
    assert last.provenance.provider == "sim-b"
    assert "first_token_timeout" in last.provenance.degraded_reason
    await asyncio.sleep(0.05)
    assert (await client.stats("sim-a"))["client_disconnects"] == 1


async def test_idle_timeout_between_tokens_continues_elsewhere(keel: Keel) -> None:
    whole = await reference_text(keel)
    client = await keel.start(inference={"idle_timeout_s": 0.2, "max_attempts_per_target": 1})
    await keel.control.set_faults("sim-a", token_ms=2000)
    started = time.monotonic()
    deltas, last = await client.stream()
    assert time.monotonic() - started < 1.0
    assert "".join(deltas) == whole
    assert "idle_timeout" in last.provenance.degraded_reason
    continuation = (await client.requests("sim-b"))[-1]
    assert continuation["messages"][-1]["content"] == deltas[0]


async def wait_for(predicate, within_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    until = time.monotonic() + within_s
    while not await predicate():
        assert time.monotonic() < until, "condition not reached"
        await asyncio.sleep(0.005)


async def test_client_cancel_closes_the_provider_request_within_100ms(keel: Keel) -> None:
    client = await keel.start()
    await keel.control.set_faults("sim-a", hang=True)
    call = client.stub.StreamGenerate(inference_pb2.StreamGenerateRequest(messages=HELLO))

    async def reading() -> None:
        async for _ in call:
            pass

    reader = asyncio.create_task(reading())
    await wait_for(lambda: _in_flight(client, "sim-a"))
    cancelled_at = time.time()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await wait_for(lambda: _ended(client, "sim-a"))
    record = (await client.requests("sim-a"))[-1]
    assert record["disconnected"]
    assert record["ended_at"] - cancelled_at < 0.1
    assert (await client.stats("sim-b"))["requests"] == 0


async def test_cancel_mid_stream_closes_the_provider_and_counts_its_tokens(keel: Keel) -> None:
    client = await keel.start()
    await keel.control.set_faults("sim-a", token_ms=100)
    before = _undelivered("sim-a")
    call = client.stub.StreamGenerate(inference_pb2.StreamGenerateRequest(messages=HELLO))
    received = 0
    async for _ in call:
        received += 1
        if received == 3:
            break
    cancelled_at = time.time()
    call.cancel()
    await wait_for(lambda: _ended(client, "sim-a"))
    record = (await client.requests("sim-a"))[-1]
    assert record["disconnected"]
    assert record["ended_at"] - cancelled_at < 0.1
    await asyncio.sleep(0.05)
    assert _undelivered("sim-a") - before >= 3


async def test_deadline_passing_closes_the_provider_request(keel: Keel) -> None:
    client = await keel.start()
    await keel.control.set_faults("sim-a", hang=True)
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.generate(deadline_s=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 0.45
    await wait_for(lambda: _ended(client, "sim-a"), within_s=0.2)
    assert (await client.requests("sim-a"))[-1]["disconnected"]


async def _in_flight(client, provider: str) -> bool:  # type: ignore[no-untyped-def]
    return (await client.stats(provider))["in_flight"] >= 1


async def _ended(client, provider: str) -> bool:  # type: ignore[no-untyped-def]
    log = await client.requests(provider)
    return bool(log) and log[-1]["ended_at"] is not None


def _undelivered(provider: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "keel_inference_undelivered_output_tokens_total",
            {"provider": provider, "model": "sim-small"},
        )
        or 0.0
    )
