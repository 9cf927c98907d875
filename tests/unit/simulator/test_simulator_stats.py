"""Counters and the request log that tests and benchmarks read back."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from .conftest import USER_HELLO, Simulator


async def test_stats_count_requests_statuses_and_tokens(sim: Simulator) -> None:
    _, first = await sim.chat()
    _, second = await sim.chat(seed=5)
    await sim.control.set_faults("sim-a", refuse=True)
    await sim.chat()

    stats = await sim.control.stats("sim-a")
    assert stats["requests"] == 3
    assert stats["responses_by_status"] == {"200": 2, "400": 1}
    assert stats["tokens_in"] == first["usage"]["prompt_tokens"] * 2
    assert stats["tokens_out"] == (
        first["usage"]["completion_tokens"] + second["usage"]["completion_tokens"]
    )
    assert (stats["open_streams"], stats["in_flight"], stats["client_disconnects"]) == (0, 0, 0)


async def test_a_cut_stream_counts_only_the_tokens_sent(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", cut_after_tokens=7)
    with pytest.raises(aiohttp.ClientPayloadError):
        await sim.stream()
    stats = await sim.control.stats("sim-a")
    assert stats["tokens_out"] == 7
    assert stats["responses_by_status"] == {"200": 1}
    assert stats["client_disconnects"] == 0


async def test_a_client_leaving_mid_stream_counts_tokens_sent_and_499(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", token_ms=30)
    payload = {"model": "sim-small", "messages": USER_HELLO, "stream": True}

    async def read_three_tokens() -> None:
        async with sim.session.post(sim.url("sim-a"), json=payload) as resp:
            lines = 0
            async for line in resp.content:
                lines += line.startswith(b"data: ")
                if lines == 4:  # the role chunk and three tokens
                    await asyncio.sleep(10)

    reader = asyncio.create_task(read_three_tokens())
    for _ in range(200):
        if (await sim.control.stats("sim-a"))["tokens_out"] >= 3:
            break
        await asyncio.sleep(0.005)
    reader.cancel()
    await asyncio.sleep(0.05)

    stats = await sim.control.stats("sim-a")
    assert stats["responses_by_status"] == {"499": 1}
    assert stats["client_disconnects"] == 1
    assert 3 <= stats["tokens_out"] <= 4  # one more may be in flight as we cancel
    (record,) = await sim.control.recent_requests("sim-a")
    assert record["tokens_out"] == stats["tokens_out"]


async def test_open_streams_and_in_flight_show_requests_in_progress(sim: Simulator) -> None:
    await sim.control.set_faults("sim-a", ttft_ms=300)
    streaming = asyncio.create_task(sim.stream())
    waiting = asyncio.create_task(sim.chat())
    await asyncio.sleep(0.1)
    during = await sim.control.stats("sim-a")
    await asyncio.gather(streaming, waiting)
    after = await sim.control.stats("sim-a")
    assert (during["open_streams"], during["in_flight"]) == (1, 2)
    assert (after["open_streams"], after["in_flight"]) == (0, 0)


async def test_deleting_stats_zeroes_the_counters(sim: Simulator) -> None:
    await sim.chat()
    await sim.control.reset_stats("sim-a")
    stats = await sim.control.stats("sim-a")
    assert stats == {
        "requests": 0,
        "responses_by_status": {},
        "tokens_in": 0,
        "tokens_out": 0,
        "open_streams": 0,
        "client_disconnects": 0,
        "in_flight": 0,
    }


async def test_request_log_shows_what_the_provider_received(sim: Simulator) -> None:
    messages = [*USER_HELLO, {"role": "assistant", "content": "The gateway"}]
    before = time.time()
    _, body = await sim.chat("sim-b", messages=messages, max_tokens=9)
    await sim.stream("sim-b")

    continuation, streamed = await sim.control.recent_requests("sim-b")
    assert continuation["id"] == body["id"]
    assert continuation["messages"] == messages
    assert continuation["model"] == "sim-small"
    assert continuation["max_tokens"] == 9
    assert continuation["stream"] is False
    assert continuation["status"] == 200
    assert continuation["tokens_out"] == body["usage"]["completion_tokens"]
    assert continuation["disconnected"] is False
    assert before <= continuation["received_at"] <= continuation["ended_at"] <= time.time()
    assert streamed["stream"] is True
    assert [r["id"] for r in await sim.control.recent_requests("sim-b", limit=1)] == [
        streamed["id"]
    ]


async def test_request_log_keeps_the_last_200_requests(sim: Simulator) -> None:
    for _ in range(205):
        await sim.chat(max_tokens=1)
    records = await sim.control.recent_requests("sim-a")
    assert len(records) == 200
    assert (await sim.control.stats("sim-a"))["requests"] == 205


async def test_reset_restores_every_provider(sim: Simulator) -> None:
    await sim.control.set_faults("sim-b", hang=True)
    await sim.chat()
    await sim.control.reset()
    assert await sim.control.faults("sim-b") == {}
    assert (await sim.control.stats("sim-a"))["requests"] == 0
    assert await sim.control.recent_requests("sim-a") == []
