"""Anthropic's Messages API, streamed (`POST {base_url}/messages`, stream: true).

Differences from the OpenAI shape that matter here: the system prompt is a
top-level field, max_tokens is required, a trailing assistant message is a
native prefill (and must not end in whitespace), usage arrives in
message_start (input) and message_delta (output), and errors can arrive inside
the stream as an `error` event (529 overloaded mid-stream).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from services.inference.providers.base import (
    ChatTurn,
    Finished,
    ProviderAdapter,
    ProviderRequest,
    ProviderStream,
    StreamEvent,
    TextDelta,
    UsageReport,
)
from services.inference.providers.classify import classify_stream_error
from services.inference.providers.errors import StreamCut
from services.inference.providers.http import ProviderHttp, cut, response_headers
from services.inference.providers.sse import read_event_batches
from services.inference.settings import ProviderSettings

_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "stop",
           "pause_turn": "stop", "max_tokens": "length", "refusal": "content_filter"}


class AnthropicAdapter(ProviderAdapter):
    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._http = ProviderHttp(settings.connect_timeout_s)
        self._url = f"{settings.base_url}/messages"

    def _headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.settings.anthropic_version,
                   "Accept": "text/event-stream"}
        key = self.settings.api_key()
        if key:
            headers["x-api-key"] = key
        return headers

    @staticmethod
    def body(request: ProviderRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        turns = [m for m in request.messages if m.role != "system"]
        if turns and turns[-1].role == "assistant":
            # The API rejects a prefill ending in whitespace; the model then
            # produces that whitespace itself at the start of its continuation.
            turns[-1] = ChatTurn("assistant", turns[-1].content.rstrip())
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in turns],
            "stream": True,
        }
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def open(self, request: ProviderRequest) -> ProviderStream:
        response = await self._http.post_stream(self._url, self.body(request), self._headers())
        return _AnthropicStream(response, _trimmed_prefill(request), self._http)

    async def close(self) -> None:
        await self._http.close()


def _trimmed_prefill(request: ProviderRequest) -> str:
    """Whitespace cut off the end of a prefill, which the continuation may repeat."""
    if request.messages and request.messages[-1].role == "assistant":
        content = request.messages[-1].content
        return content[len(content.rstrip()):]
    return ""


class _AnthropicStream(ProviderStream):
    def __init__(
        self, response: aiohttp.ClientResponse, trimmed: str, http: ProviderHttp
    ) -> None:
        self._response = response
        self._trimmed = trimmed
        self._http = http
        self._complete = False
        self.headers = response_headers(response)

    async def batches(self) -> AsyncIterator[list[StreamEvent]]:
        input_tokens: int | None = None
        first_text = True
        try:
            async for received in read_event_batches(self._response.content):
                found: list[StreamEvent] = []
                for event in received:
                    try:
                        data = json.loads(event.data)
                    except ValueError:
                        continue
                    if not isinstance(data, Mapping):
                        continue
                    kind = data.get("type") or event.event
                    if kind == "error":
                        if found:
                            yield found  # what came before the error is the caller's
                        raise classify_stream_error(data)
                    if kind == "message_start":
                        usage = (data.get("message") or {}).get("usage") or {}
                        input_tokens = _int(usage.get("input_tokens"))
                    elif kind == "content_block_delta":
                        delta = data.get("delta") or {}
                        text = delta.get("text") if delta.get("type") == "text_delta" else None
                        if isinstance(text, str) and text:
                            if first_text and self._trimmed:
                                # The client already has the whitespace we trimmed.
                                text = _without_prefix(text, self._trimmed)
                            first_text = False
                            if text:
                                found.append(TextDelta(text))
                    elif kind == "message_delta":
                        delta = data.get("delta") or {}
                        usage = data.get("usage") or {}
                        found.append(UsageReport(input_tokens, _int(usage.get("output_tokens"))))
                        if delta.get("stop_reason"):
                            found.append(Finished(_FINISH.get(str(delta["stop_reason"]), "stop")))
                    elif kind == "message_stop":
                        self._complete = True
                        if found:
                            yield found
                        return
                if found:
                    yield found
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
            raise cut(error) from None
        raise StreamCut("the provider's stream ended before message_stop")

    def close(self) -> None:
        if self._complete:
            self._http.finish(self._response)
        else:
            self._response.close()


def _without_prefix(text: str, whitespace: str) -> str:
    common = 0
    while common < min(len(text), len(whitespace)) and text[common] == whitespace[common]:
        common += 1
    return text[common:]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
