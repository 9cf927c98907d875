"""Total outage (the retry budget bounds upstream load) and hedging."""

from __future__ import annotations

import asyncio
import time

import grpc

from tests.e2e.inference.conftest import Keel

REQUESTS = 200


async def test_total_outage_multiplies_upstream_attempts_by_at_most_1_15(keel: Keel) -> None:
    # Breakers would stop most of the load by themselves once open; a high
    # fail_max leaves the retry budget alone to bound it, as it must while
    # requests arrive faster than breakers can learn.
    client = await keel.start(inference={"breaker_fail_max": 1000})
    await keel.control.set_faults("sim-a", status=503)
    await keel.control.set_faults("sim-b", status=503)
    results = await asyncio.gather(
        *(client.generate(deadline_s=10) for _ in range(REQUESTS)), return_exceptions=True
    )
    assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
    assert {r.code() for r in results} == {grpc.StatusCode.UNAVAILABLE}  # type: ignore[union-attr]
    upstream = (await client.stats("sim-a"))["requests"] + (await client.stats("sim-b"))["requests"]
    amplification = upstream / REQUESTS
    print(
        f"\ntotal outage: {upstream} upstream attempts for {REQUESTS} requests "
        f"= {amplification:.3f}x"
    )
    assert amplification <= 1.15


async def test_total_outage_with_breakers_fails_fast_without_upstream_calls(keel: Keel) -> None:
    client = await keel.start()
    await keel.control.set_faults("sim-a", status=503)
    await keel.control.set_faults("sim-b", status=503)
    for _ in range(REQUESTS):
        try:
            await client.generate()
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
    upstream = (await client.stats("sim-a"))["requests"] + (await client.stats("sim-b"))["requests"]
    print(f"\nsequential outage: {upstream} upstream attempts for {REQUESTS} requests")
    assert upstream <= 2 * 5 + 10  # each breaker's fail_max, plus the budget's floor


HEDGED = {
    "models": {
        "hedged": {
            "hedge_after_ms": 100,
            "chain": [
                {"provider": "sim-a", "model": "sim-small"},
                {"provider": "sim-b", "model": "sim-small"},
            ],
        }
    }
}


async def test_hedge_takes_the_fast_target_and_cancels_the_slow_one(keel: Keel) -> None:
    client = await keel.start(**HEDGED)
    await keel.control.set_faults("sim-a", ttft_ms=3000)
    started = time.monotonic()
    deltas, last = await client.stream(model="hedged")
    assert time.monotonic() - started < 1.0
    assert last.provenance.provider == "sim-b"
    assert last.provenance.attempts == 2
    await asyncio.sleep(0.05)
    slow = (await client.requests("sim-a"))[-1]
    assert slow["disconnected"] and slow["ended_at"] is not None
    # Both attempts are paid for: the loser's prompt is counted too.
    b = await client.stats("sim-b")
    assert last.usage.input_tokens > b["tokens_in"]
    assert last.usage.output_tokens == b["tokens_out"] == len(deltas)


async def test_no_hedge_when_the_primary_answers_in_time(keel: Keel) -> None:
    client = await keel.start(**HEDGED)
    answer = await client.generate(model="hedged")
    assert (answer.provenance.provider, answer.provenance.attempts) == ("sim-a", 1)
    assert (await client.stats("sim-b"))["requests"] == 0


async def test_hedging_is_off_unless_configured(keel: Keel) -> None:
    client = await keel.start(inference={"first_token_timeout_s": 2.0})
    await keel.control.set_faults("sim-a", ttft_ms=400)
    answer = await client.generate()
    assert (answer.provenance.provider, answer.provenance.attempts) == ("sim-a", 1)
    assert (await client.stats("sim-b"))["requests"] == 0
