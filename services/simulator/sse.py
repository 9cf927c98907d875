"""Server-sent events for a streamed chat completion, written as they are due.

Events produced at the same instant (zero-latency configs, or the finish,
usage and [DONE] events at the end) go out in one write, which is what a
client could observe anyway; events separated by a pause are flushed before
the pause, so every token reaches the client when it is produced.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

DONE = b"data: [DONE]\n\n"


class EventStream:
    def __init__(self, response: web.StreamResponse) -> None:
        self._response = response
        self._pending: list[bytes] = []
        self._pending_tokens = 0

    def add(self, event: Mapping[str, Any], *, tokens: int = 0) -> None:
        """Queue one `data:` event carrying `tokens` output tokens."""
        payload = json.dumps(event, separators=(",", ":")).encode()
        self._pending.append(b"data: " + payload + b"\n\n")
        self._pending_tokens += tokens

    def add_done(self) -> None:
        self._pending.append(DONE)

    async def flush(self) -> int:
        """Write everything queued; returns how many output tokens that sent."""
        if not self._pending:
            return 0
        data, sent = b"".join(self._pending), self._pending_tokens
        self._pending.clear()
        self._pending_tokens = 0
        await self._response.write(data)
        return sent

    async def pause(self, seconds: float) -> int:
        """Flush, then wait `seconds` (no flush and no wait when zero)."""
        if seconds <= 0:
            return 0
        sent = await self.flush()
        await asyncio.sleep(seconds)
        return sent
