"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
llama.cpp server, the simulator), streamed over server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from services.inference.providers.base import (
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

_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter",
           "tool_calls": "stop", "function_call": "stop"}


class OpenAICompatibleAdapter(ProviderAdapter):
    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._http = ProviderHttp(settings.connect_timeout_s)
        self._url = f"{settings.base_url}/chat/completions"

    def _headers(self, request: ProviderRequest) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        key = self.settings.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if request.request_id:
            headers["X-Client-Request-Id"] = request.request_id[:512]
        return headers

    @staticmethod
    def body(request: ProviderRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            # max_tokens rather than max_completion_tokens: every compatible
            # server (vLLM, Ollama, llama.cpp) understands it.
            "max_tokens": request.max_tokens,
            "stream": True,
            # The usage chunk at the end is what we bill from.
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def open(self, request: ProviderRequest) -> ProviderStream:
        response = await self._http.post_stream(self._url, self.body(request),
                                                self._headers(request))
        return _OpenAIStream(response, self._http)

    def estimate_output_tokens(self, text: str, deltas: int) -> int:
        # OpenAI-compatible servers send about one token per chunk, a closer
        # count than characters / 4.
        return deltas

    async def close(self) -> None:
        await self._http.close()


class _OpenAIStream(ProviderStream):
    def __init__(self, response: aiohttp.ClientResponse, http: ProviderHttp) -> None:
        self._response = response
        self._http = http
        self._complete = False
        self.headers = response_headers(response)

    async def batches(self) -> AsyncIterator[list[StreamEvent]]:
        finished = False
        try:
            async for received in read_event_batches(self._response.content):
                found: list[StreamEvent] = []
                for event in received:
                    if event.data.strip() == "[DONE]":
                        self._complete = True
                        if found:
                            yield found
                        return
                    try:
                        chunk = json.loads(event.data)
                    except ValueError:
                        continue  # keep-alive noise some servers send
                    if not isinstance(chunk, Mapping):
                        continue
                    if "error" in chunk:
                        if found:
                            yield found  # what came before the error is the caller's
                        raise classify_stream_error(chunk)
                    for item in _events_of(chunk):
                        if isinstance(item, Finished):
                            finished = True
                        found.append(item)
                if found:
                    yield found
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
            raise cut(error) from None
        # The body ended without [DONE]: complete only if a finish reason came.
        if not finished:
            raise StreamCut("the provider's stream ended before the answer did")

    def close(self) -> None:
        if self._complete:
            self._http.finish(self._response)
        else:
            self._response.close()


def _events_of(chunk: Mapping[str, Any]) -> list[StreamEvent]:
    found: list[StreamEvent] = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        text = delta.get("content") if isinstance(delta, Mapping) else None
        if isinstance(text, str) and text:
            found.append(TextDelta(text))
        reason = choice.get("finish_reason")
        if reason:
            found.append(Finished(_FINISH.get(str(reason), "stop")))
    usage = chunk.get("usage")
    if isinstance(usage, Mapping):
        found.append(UsageReport(_int(usage.get("prompt_tokens")),
                                 _int(usage.get("completion_tokens"))))
    return found


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
