"""Connections to a provider: a complete answer leaves its connection for the
next request (keep-alive); an answer abandoned midway closes it at once, so
the provider sees the disconnect and stops generating."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from services.inference.providers.base import ChatTurn, ProviderRequest, TextDelta
from services.inference.providers.openai_compatible import OpenAICompatibleAdapter
from services.inference.settings import ProviderSettings

REQUEST = ProviderRequest("sim-small", (ChatTurn("user", "Hi"),), max_tokens=8)


def chunk(**fields: object) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, **fields}]}).encode() + b"\n\n"


class Provider:
    """Answers every request with the same stream in one write, then ends the
    body a moment later (a server finishing its bookkeeping first, as the
    simulator does); or, with `pause_s`, pauses after the first word as a
    slow model would."""

    def __init__(self) -> None:
        self.client_ports: list[int] = []
        self.pause_s = 0.0

    async def completions(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        peer = request.transport.get_extra_info("peername")  # type: ignore[union-attr]
        self.client_ports.append(peer[1])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        body = [chunk(delta={"content": word}) for word in ("one", " two", " three")]
        body += [chunk(delta={}, finish_reason="stop"), b"data: [DONE]\n\n"]
        if self.pause_s:
            await response.write(body.pop(0))
            await asyncio.sleep(self.pause_s)
        await response.write(b"".join(body))
        await asyncio.sleep(0.01)
        await response.write_eof()
        return response


@pytest.fixture
async def provider() -> AsyncIterator[tuple[Provider, OpenAICompatibleAdapter]]:
    fake = Provider()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    adapter = OpenAICompatibleAdapter(ProviderSettings(
        name="sim", kind="openai", base_url=f"http://127.0.0.1:{port}/v1",
        api_key_env="", connect_timeout_s=1, rpm=0, tpm=0, max_concurrency=0))
    yield fake, adapter
    await adapter.close()
    await runner.cleanup()


async def answer(adapter: OpenAICompatibleAdapter, *, words: int | None = None) -> list[str]:
    """Read the answer (or its first `words` words) and close the stream."""
    stream = await adapter.open(REQUEST)
    texts: list[str] = []
    try:
        async for event in stream.events():
            if isinstance(event, TextDelta):
                texts.append(event.text)
                if words is not None and len(texts) == words:
                    break
    finally:
        stream.close()
    return texts


async def test_a_complete_answer_leaves_its_connection_for_the_next_request(
    provider: tuple[Provider, OpenAICompatibleAdapter],
) -> None:
    fake, adapter = provider
    for _ in range(3):
        assert await answer(adapter) == ["one", " two", " three"]
        await asyncio.sleep(0.05)  # for the end of the body, which follows the last event

    assert len(fake.client_ports) == 3
    assert len(set(fake.client_ports)) == 1


async def test_an_answer_abandoned_midway_closes_its_connection(
    provider: tuple[Provider, OpenAICompatibleAdapter],
) -> None:
    fake, adapter = provider
    fake.pause_s = 0.5
    for _ in range(2):
        assert await answer(adapter, words=1) == ["one"]
        await asyncio.sleep(0.05)

    assert len(set(fake.client_ports)) == 2
