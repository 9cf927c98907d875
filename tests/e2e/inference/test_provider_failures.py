"""Breakers, fallback, failure classification and rate limits, as the caller and
the provider see them."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_status import rpc_status
from keel.inference.v1 import inference_pb2

from services.core.errors import details_of
from services.inference.policies.breaker import CLOSED, OPEN
from tests.e2e.inference.conftest import Keel


def status_details(error: grpc.aio.AioRpcError) -> dict[str, object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no rich status in the trailers"
    return details_of(status)


async def test_primary_down_every_request_answered_by_fallback_and_breaker_opens_at_fail_max(
    keel: Keel,
) -> None:
    client = await keel.start()
    await keel.control.set_faults("sim-a", status=503)
    answers = [await client.generate() for _ in range(10)]
    assert all(a.provenance.provider == "sim-b" for a in answers)
    assert all(a.provenance.degraded for a in answers)
    assert "sim-a/sim-small" in answers[0].provenance.degraded_reason
    # fail_max = 5 transient failures open it; nothing reaches sim-a afterwards.
    assert (await client.stats("sim-a"))["requests"] == 5
    assert client.target("sim-a").breaker.state == OPEN
    # Once open, a request skips sim-a without an attempt or a wait.
    assert [a.provenance.attempts for a in answers[3:]] == [1] * 7


async def test_open_breaker_costs_a_request_no_time(keel: Keel) -> None:
    client = await keel.start(
        providers={"sim-b": {}}, inference={"breaker_fail_max": 1, "max_attempts_per_target": 1}
    )
    await keel.control.set_faults("sim-a", status=503, ttft_ms=300)
    # The injected error answers at once; the breaker opens on it.
    await client.generate()
    assert client.target("sim-a").breaker.state == OPEN
    started = time.monotonic()
    answer = await client.generate()
    assert answer.provenance.attempts == 1
    assert time.monotonic() - started < 0.25


async def test_breaker_recovers_through_one_half_open_probe(keel: Keel) -> None:
    client = await keel.start(inference={"breaker_reset_timeout_s": 0.3})
    await keel.control.set_faults("sim-a", status=503)
    for _ in range(3):
        await client.generate()
    assert client.target("sim-a").breaker.state == OPEN
    await keel.control.clear_faults("sim-a")
    await keel.control.reset_stats("sim-a")
    await asyncio.sleep(0.35)
    # Half-open lets exactly one trial call through; concurrent requests go
    # to the fallback meanwhile.
    answers = await asyncio.gather(*(client.generate() for _ in range(5)))
    assert (await client.stats("sim-a"))["requests"] == 1
    assert sorted(a.provenance.provider for a in answers) == ["sim-a"] + ["sim-b"] * 4
    assert client.target("sim-a").breaker.state == CLOSED
    after = await client.generate()
    assert (after.provenance.provider, after.provenance.degraded) == ("sim-a", False)


async def test_failed_half_open_probe_opens_the_breaker_again(keel: Keel) -> None:
    client = await keel.start(inference={"breaker_reset_timeout_s": 0.3})
    await keel.control.set_faults("sim-a", status=503)
    for _ in range(3):
        await client.generate()
    await keel.control.reset_stats("sim-a")
    await asyncio.sleep(0.35)
    await client.generate()
    await client.generate()
    assert (await client.stats("sim-a"))["requests"] == 1
    assert client.target("sim-a").breaker.state == OPEN


async def test_content_refusal_is_failed_precondition_never_retried_breaker_unchanged(
    keel: Keel,
) -> None:
    client = await keel.start(inference={"max_attempts_per_target": 1})
    await keel.control.set_faults("sim-a", status=503)
    await client.generate()  # one counted failure on sim-a, answered by sim-b
    assert client.target("sim-a").breaker.failures == 1
    await keel.control.set_faults("sim-a", refuse=True)
    await keel.control.reset_stats("sim-a")
    await keel.control.reset_stats("sim-b")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.generate()
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = status_details(caught.value)["ErrorInfo"]
    assert info.reason == "CONTENT_REFUSED"  # type: ignore[attr-defined]
    assert (await client.stats("sim-a"))["requests"] == 1
    assert (await client.stats("sim-b"))["requests"] == 0
    breaker = client.target("sim-a").breaker
    assert (breaker.state, breaker.failures) == (CLOSED, 1)


async def test_unknown_model_at_provider_moves_on_without_touching_the_breaker(
    keel: Keel,
) -> None:
    client = await keel.start(
        models={
            "odd": {
                "chain": [
                    {"provider": "sim-a", "model": "no-such-model"},
                    {"provider": "sim-b", "model": "sim-small"},
                ]
            }
        }
    )
    answer = await client.generate(model="odd")
    assert answer.provenance.provider == "sim-b"
    assert "target_unusable" in answer.provenance.degraded_reason
    assert client.target("sim-a", "no-such-model").breaker.failures == 0


async def test_429_with_retry_after_is_waited_out_not_hammered(keel: Keel) -> None:
    solo = {"chain": [{"provider": "sim-a", "model": "sim-small"}]}
    client = await keel.start(models={"solo": solo})
    await keel.control.set_faults("sim-a", status=429, retry_after_s=0.5)
    first = asyncio.create_task(client.generate(model="solo", deadline_s=5))
    while (await client.stats("sim-a"))["requests"] < 1:  # noqa: ASYNC110 - polling a peer
        await asyncio.sleep(0.01)
    await keel.control.clear_faults("sim-a")
    # Requests arriving during the hold-back wait for it too.
    others = [asyncio.create_task(client.generate(model="solo", deadline_s=5)) for _ in range(5)]
    answers = await asyncio.gather(first, *others)
    assert all(a.provenance.provider == "sim-a" for a in answers)
    log = await client.requests("sim-a")
    assert [r["status"] for r in log] == [429] + [200] * 6
    limited_at = log[0]["received_at"]
    assert min(r["received_at"] for r in log[1:]) >= limited_at + 0.45


async def test_provider_limits_send_the_excess_to_the_fallback_instead_of_earning_429s(
    keel: Keel,
) -> None:
    client = await keel.start(providers={"sim-a": {"rpm": 3}})
    answers = [await client.generate() for _ in range(6)]
    assert [a.provenance.provider for a in answers] == ["sim-a"] * 3 + ["sim-b"] * 3
    assert "provider limits" in answers[3].provenance.degraded_reason
    status = await client.stub.GetProviderStatus(inference_pb2.GetProviderStatusRequest())
    sim_a = next(t for t in status.targets if (t.provider, t.model) == ("sim-a", "sim-small"))
    assert sim_a.requests_available < 1
    assert (await client.stats("sim-a"))["requests"] == 3


async def test_provider_status_reports_breaker_hold_back_and_latency(keel: Keel) -> None:
    client = await keel.start(inference={"breaker_fail_max": 2, "max_attempts_per_target": 1})
    await client.generate()
    await keel.control.set_faults("sim-b", status=429, retry_after_s=30)
    await keel.control.set_faults("sim-a", status=503)
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await client.generate()
    status = await client.stub.GetProviderStatus(inference_pb2.GetProviderStatusRequest())
    by_target = {(t.provider, t.model): t for t in status.targets}
    a, b = by_target[("sim-a", "sim-small")], by_target[("sim-b", "sim-small")]
    assert a.breaker_state == inference_pb2.BREAKER_STATE_OPEN
    assert a.breaker_open_remaining_seconds > 0
    assert a.recent_first_token_p50_ms > 0
    assert 25 < b.held_back_seconds <= 30
    assert b.breaker_state == inference_pb2.BREAKER_STATE_CLOSED
    assert a.requests_available == -1


async def test_no_target_left_is_unavailable_with_retry_info(keel: Keel) -> None:
    client = await keel.start(inference={"max_attempts_per_target": 1})
    await keel.control.set_faults("sim-a", status=503)
    await keel.control.set_faults("sim-b", status=502)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.generate()
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    details = status_details(caught.value)
    assert details["ErrorInfo"].reason == "NO_PROVIDER_AVAILABLE"  # type: ignore[attr-defined]
    assert "RetryInfo" in details
