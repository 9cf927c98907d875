"""Injected faults, standing (control API) and per request (x-sim-faults header)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from services.simulator.control_client import SimulatorControlError

from .conftest import USER_HELLO, LaunchSimulator, Simulator, content_deltas


async def wait_for_end(sim: Simulator, provider: str = "sim-a") -> dict:
    """The provider's latest request record, once it has ended."""
    for _ in range(200):
        (record,) = await sim.control.recent_requests(provider, limit=1)
        if record["ended_at"] is not None:
            return record
        await asyncio.sleep(0.005)
    raise AssertionError("request never ended")


async def test_injected_status_carries_retry_after(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", status=503, retry_after_s=2.5)
    resp, body = await sim.chat()
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "3"
    assert resp.headers["retry-after-ms"] == "2500"
    assert body["error"]["type"] == "server_error"


async def test_injected_429_looks_like_a_real_rate_limit(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", status=429, retry_after_s=1)
    resp, body = await sim.chat()
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "1"
    assert body["error"]["code"] == "rate_limit_exceeded"


async def test_status_without_error_rate_fails_every_request(sim: Simulator) -> None:
    active = await sim.control.set_faults("sim-a", status=500)
    assert active == {"status": 500, "error_rate": 1.0}
    statuses = [(await sim.chat())[0].status for _ in range(5)]
    assert statuses == [500] * 5


async def test_faults_stay_on_their_provider(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", status=500)
    resp, _ = await sim.chat("sim-b")
    assert resp.status == 200


async def test_error_rate_fails_about_that_fraction_of_requests(
    launch_simulator: LaunchSimulator,
) -> None:
    sim = await launch_simulator(random_seed=1234)
    await sim.control.set_faults("sim-a", error_rate=0.3, status=502)
    statuses = await asyncio.gather(*(sim.chat() for _ in range(200)))
    failed = sum(1 for resp, _ in statuses if resp.status == 502)
    assert {resp.status for resp, _ in statuses} == {200, 502}
    assert 40 <= failed <= 80  # 0.3 +- 0.1 of 200


async def test_error_rate_alone_answers_500(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", error_rate=1)
    resp, _ = await sim.chat()
    assert resp.status == 500


async def test_refuse_is_a_400_content_policy_violation(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", refuse=True)
    resp, body = await sim.chat()
    assert resp.status == 400
    assert body["error"]["code"] == "content_policy_violation"
    assert body["error"]["type"] == "invalid_request_error"


async def test_ttft_ms_delays_the_first_token(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", ttft_ms=200)
    payload = {"model": "sim-small", "messages": USER_HELLO, "stream": True}
    started = time.perf_counter()
    async with sim.session.post(sim.url("sim-a"), json=payload) as resp:
        first_content_at = None
        async for line in resp.content:
            if b'"content":"' in line and b'"role"' not in line:
                first_content_at = time.perf_counter()
                break
    assert first_content_at is not None
    assert 0.2 <= first_content_at - started < 0.4


async def test_ttft_and_token_ms_add_up_for_non_stream_answers(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", ttft_ms=50, token_ms=10)
    started = time.perf_counter()
    _, body = await sim.chat(max_tokens=10)
    elapsed = time.perf_counter() - started
    assert body["usage"]["completion_tokens"] == 10
    assert 0.15 <= elapsed < 0.3  # 50 ms + 10 x 10 ms


async def test_tail_latency_multiplies_normal_latency(launch_simulator: LaunchSimulator) -> None:
    sim = await launch_simulator(ttft_ms=20, tail_probability=1, tail_multiplier=6)
    started = time.perf_counter()
    await sim.chat(max_tokens=1)
    assert 0.12 <= time.perf_counter() - started < 0.3


async def test_hang_is_released_by_the_client_leaving_within_100ms(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", hang=True)
    request = asyncio.create_task(sim.chat())
    await asyncio.sleep(0.1)
    assert (await sim.control.stats("sim-a"))["in_flight"] == 1

    cancelled_at = time.time()
    request.cancel()
    record = await wait_for_end(sim)

    assert record["disconnected"] is True
    assert record["status"] == 499
    assert record["ended_at"] - cancelled_at < 0.1
    stats = await sim.control.stats("sim-a")
    assert stats["client_disconnects"] == 1
    assert stats["responses_by_status"] == {"499": 1}
    assert stats["in_flight"] == 0


async def test_disconnect_during_ttft_is_seen_within_100ms(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", ttft_ms=5000)
    payload = {"model": "sim-small", "messages": USER_HELLO, "stream": True}

    async def read_role_chunk_then_wait() -> None:
        async with sim.session.post(sim.url("sim-a"), json=payload) as resp:
            await resp.content.readline()
            await asyncio.sleep(10)

    reader = asyncio.create_task(read_role_chunk_then_wait())
    await asyncio.sleep(0.1)
    assert (await sim.control.stats("sim-a"))["open_streams"] == 1
    cancelled_at = time.time()
    reader.cancel()
    record = await wait_for_end(sim)

    assert record["disconnected"] is True
    assert record["ended_at"] - cancelled_at < 0.1
    assert (await sim.control.stats("sim-a"))["open_streams"] == 0


async def test_cut_stream_sends_exactly_n_tokens_then_closes_abruptly(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", cut_after_tokens=7)
    payload = {"model": "sim-small", "messages": USER_HELLO, "stream": True}
    received = b""
    async with sim.session.post(sim.url("sim-a"), json=payload) as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in resp.content.iter_any():
                received += chunk
    events = [json.loads(b[6:]) for b in received.split(b"\n\n") if b.startswith(b"data: {")]
    deltas = content_deltas(events)
    _, full = await sim.chat("sim-b")  # sim-a would cut this one too
    assert len(deltas) == 7
    assert full["choices"][0]["message"]["content"].startswith("".join(deltas))
    assert b"[DONE]" not in received
    assert all(e["choices"][0]["finish_reason"] is None for e in events)


async def test_cut_non_stream_request_drops_the_connection(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", cut_after_tokens=3)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await sim.chat()
    record = await wait_for_end(sim)
    assert record["cut"] is True
    assert record["tokens_out"] == 0


async def test_header_faults_apply_to_that_request_only(sim: Simulator) -> None:
    faulty, _ = await sim.chat(headers={"x-sim-faults": json.dumps({"status": 503})})
    healthy, _ = await sim.chat()
    assert (faulty.status, healthy.status) == (503, 200)


async def test_header_faults_override_the_providers_faults(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", refuse=True, ttft_ms=0)
    resp, _ = await sim.chat(headers={"x-sim-faults": '{"refuse": false}'})
    assert resp.status == 200
    (record,) = await sim.control.recent_requests("sim-a", limit=1)
    assert record["faults"] == {"refuse": False, "ttft_ms": 0.0}


async def test_invalid_fault_header_is_400(sim: Simulator) -> None:
    resp, body = await sim.chat(headers={"x-sim-faults": "{oops"})
    assert resp.status == 400
    assert "x-sim-faults" in body["error"]["message"]


@pytest.mark.parametrize(
    ("faults", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"status": 200}, "status"),
        ({"ttft_ms": -1}, "ttft_ms"),
        ({"hang": "yes"}, "hang"),
        ({"cut_after_tokens": 2.5}, "cut_after_tokens"),
        ({"eror_rate": 0.5}, "eror_rate"),
    ],
)
async def test_invalid_fault_spec_is_400_naming_the_field(
    sim: Simulator, faults: dict, field: str
) -> None:
    with pytest.raises(SimulatorControlError) as raised:
        await sim.control.set_faults("sim-a", **faults)
    assert raised.value.status == 400
    assert raised.value.body["error"]["field"] == field
    assert field in raised.value.body["error"]["message"]
    assert await sim.control.faults("sim-a") == {}


async def test_put_replaces_and_delete_clears_faults(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", hang=True)
    await sim.control.set_faults("sim-a", token_ms=5)
    assert await sim.control.faults("sim-a") == {"token_ms": 5.0}
    await sim.control.clear_faults("sim-a")
    assert await sim.control.faults("sim-a") == {}


async def test_control_routes_of_unknown_provider_are_404(sim: Simulator) -> None:
    for path in ("faults", "stats", "requests"):
        async with sim.session.get(f"{sim.base_url}/_control/providers/nope/{path}") as resp:
            assert resp.status == 404
            assert "nope" in (await resp.json())["error"]["message"]
