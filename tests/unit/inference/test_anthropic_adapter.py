"""The Anthropic Messages adapter against a small stub of that API over real HTTP.

The simulator speaks only the OpenAI protocol, so the edge we do not own is
faked here with the event sequence Anthropic documents for streaming.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from services.inference.providers.anthropic import AnthropicAdapter
from services.inference.providers.base import (
    ChatTurn,
    Finished,
    ProviderRequest,
    TextDelta,
    UsageReport,
)
from services.inference.providers.errors import ContentRefused, ServerError, StreamCut
from services.inference.settings import ProviderSettings


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def reply(texts: list[str], *, stop: str = "end_turn", error: dict[str, Any] | None = None,
          cut: bool = False) -> list[bytes]:
    events = [sse("message_start", {"message": {"usage": {"input_tokens": 11,
                                                          "output_tokens": 1}}}),
              sse("content_block_start", {"index": 0, "content_block": {"type": "text",
                                                                        "text": ""}}),
              b"event: ping\ndata: {\"type\": \"ping\"}\n\n"]
    for text in texts:
        events.append(sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta",
                                                                        "text": text}}))
    if error:
        events.append(sse("error", {"error": error}))
    if cut:
        return events
    events += [sse("content_block_stop", {"index": 0}),
               sse("message_delta", {"delta": {"stop_reason": stop},
                                     "usage": {"output_tokens": len(texts)}}),
               sse("message_stop", {})]
    return events


class Stub:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: list[bytes] | web.Response = []

    async def messages(self, request: web.Request) -> web.StreamResponse:
        self.bodies.append(await request.json())
        self.headers.append(dict(request.headers))
        if isinstance(self.script, web.Response):
            return self.script
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in self.script:
            await response.write(chunk)
        if self.script and b"message_stop" not in self.script[-1]:
            request.transport.close()  # type: ignore[union-attr]
            return response
        await response.write_eof()
        return response


@pytest.fixture
async def stub(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Stub, AnthropicAdapter]]:
    fake = Stub()
    app = web.Application()
    app.router.add_post("/v1/messages", fake.messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-test")
    adapter = AnthropicAdapter(ProviderSettings(
        name="claude", kind="anthropic", base_url=f"http://127.0.0.1:{port}/v1",
        api_key_env="TEST_ANTHROPIC_KEY", connect_timeout_s=1, rpm=0, tpm=0, max_concurrency=0))
    yield fake, adapter
    await adapter.close()
    await runner.cleanup()


REQUEST = ProviderRequest("claude-x", (ChatTurn("system", "Be brief."), ChatTurn("user", "Hi")),
                          max_tokens=64, temperature=0.5)


async def events_of(adapter: AnthropicAdapter, request: ProviderRequest = REQUEST) -> list[Any]:
    stream = await adapter.open(request)
    try:
        return [event async for event in stream.events()]
    finally:
        stream.close()


async def test_streams_text_usage_and_stop_reason(stub: tuple[Stub, AnthropicAdapter]) -> None:
    fake, adapter = stub
    fake.script = reply(["Hello", " there"])
    events = await events_of(adapter)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " there"]
    assert UsageReport(11, 2) in events
    assert events[-1] == Finished("stop")
    body, headers = fake.bodies[0], fake.headers[0]
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "Hi"}]
    assert (body["max_tokens"], body["stream"], body["temperature"]) == (64, True, 0.5)
    assert headers["x-api-key"] == "sk-test"
    assert headers["anthropic-version"] == "2023-06-01"


async def test_prefill_is_sent_without_trailing_whitespace_and_not_repeated(
    stub: tuple[Stub, AnthropicAdapter],
) -> None:
    fake, adapter = stub
    fake.script = reply([" world", "."])
    request = REQUEST.continued_after("Hello ", tokens_sent=1)
    events = await events_of(adapter, request)
    assert fake.bodies[0]["messages"][-1] == {"role": "assistant", "content": "Hello"}
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "world."


async def test_max_tokens_and_refusal_stop_reasons(stub: tuple[Stub, AnthropicAdapter]) -> None:
    fake, adapter = stub
    fake.script = reply(["a"], stop="max_tokens")
    assert (await events_of(adapter))[-1] == Finished("length")
    fake.script = reply([], stop="refusal")
    assert (await events_of(adapter))[-1] == Finished("content_filter")


async def test_overloaded_error_inside_the_stream_is_transient(
    stub: tuple[Stub, AnthropicAdapter],
) -> None:
    fake, adapter = stub
    fake.script = reply(["a"], error={"type": "overloaded_error", "message": "Overloaded"})
    with pytest.raises(ServerError):
        await events_of(adapter)


async def test_stream_ending_before_message_stop_is_a_cut(
    stub: tuple[Stub, AnthropicAdapter],
) -> None:
    fake, adapter = stub
    fake.script = reply(["a", "b"], cut=True)
    with pytest.raises(StreamCut):
        await events_of(adapter)


async def test_http_529_is_transient_and_400_refusal_is_content(
    stub: tuple[Stub, AnthropicAdapter],
) -> None:
    fake, adapter = stub
    fake.script = web.json_response(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        status=529)
    with pytest.raises(ServerError):
        await adapter.open(REQUEST)
    fake.script = web.json_response(
        {"type": "error", "error": {"type": "invalid_request_error",
                                    "message": "Output blocked by content filtering policy"}},
        status=400)
    with pytest.raises(ContentRefused):
        await adapter.open(REQUEST)
