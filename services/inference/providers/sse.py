"""A small server-sent-events decoder, shared by the OpenAI and Anthropic adapters.

Fed raw bytes as they arrive, it returns complete events (WHATWG rules: lines
end in LF, CR or CRLF; `data` lines accumulate; a blank line dispatches; lines
starting with ':' are comments). Bytes, not lines, come in because a line or a
UTF-8 character may be split across network reads.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class ServerSentEvent:
    event: str  # "message" when the stream named none
    data: str
    id: str | None = None


class SseDecoder:
    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._started = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._text.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        self._buffer += text
        events: list[ServerSentEvent] = []
        while True:
            line, found = self._next_line()
            if not found:
                return events
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _next_line(self) -> tuple[str, bool]:
        buffer = self._buffer
        for index, char in enumerate(buffer):
            if char == "\n":
                self._buffer = buffer[index + 1 :]
                return buffer[:index], True
            if char == "\r":
                # A CR at the very end may be the first half of a CRLF: wait.
                if index + 1 == len(buffer):
                    return "", False
                skip = 2 if buffer[index + 1] == "\n" else 1
                self._buffer = buffer[index + skip :]
                return buffer[:index], True
        return "", False

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


async def read_events(content: aiohttp.StreamReader) -> AsyncIterator[ServerSentEvent]:
    """The events of an HTTP response body, as they arrive."""
    decoder = SseDecoder()
    async for chunk in content.iter_any():
        for event in decoder.feed(chunk):
            yield event
