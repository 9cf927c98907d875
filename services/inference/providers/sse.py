"""A small server-sent-events decoder, shared by the OpenAI and Anthropic adapters.

Fed raw bytes as they arrive, it returns complete events (WHATWG rules: lines
end in LF, CR or CRLF; `data` lines accumulate; a blank line dispatches; lines
starting with ':' are comments). Bytes, not lines, come in because a line or a
UTF-8 character may be split across network reads.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

_LINE_END = re.compile(r"\r\n|\r|\n")


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
        buffer = self._buffer + text if self._buffer else text
        if "\r" in buffer:
            lines, self._buffer = _split_any(buffer)
        else:
            # The common case, LF only: one split for the whole read.
            *lines, self._buffer = buffer.split("\n")
        events: list[ServerSentEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

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


def _split_any(buffer: str) -> tuple[list[str], str]:
    """Complete lines ending in LF, CR or CRLF, and what is left of the buffer.
    A CR at the very end may be the first half of a CRLF: it waits for the next read."""
    lines: list[str] = []
    start = 0
    for end in _LINE_END.finditer(buffer):
        if end.end() == len(buffer) and end.group() == "\r":
            break
        lines.append(buffer[start : end.start()])
        start = end.end()
    return lines, buffer[start:]


async def read_event_batches(
    content: aiohttp.StreamReader,
) -> AsyncIterator[list[ServerSentEvent]]:
    """The events of an HTTP response body as they arrive: one list for what
    each read of the body completed (never an empty one)."""
    decoder = SseDecoder()
    async for chunk in content.iter_any():
        events = decoder.feed(chunk)
        if events:
            yield events
