"""A ring buffer of the most recent chat requests a provider received.

Tests assert on what actually reached the provider (a continuation carrying
its prefill, a cancelled request seen closed within 100 ms), which counters
alone cannot show.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

CAPACITY = 200


@dataclass
class RequestRecord:
    id: str
    received_at: float  # unix seconds
    ended_at: float | None = None  # None while the request is still running
    model: str | None = None  # None when the body could not be parsed
    messages: list[dict[str, str]] = field(default_factory=list)
    max_tokens: int | None = None
    stream: bool = False
    status: int | None = None
    tokens_out: int = 0
    disconnected: bool = False  # the client went away before the end
    cut: bool = False  # an injected cut closed the connection
    faults: dict[str, Any] = field(default_factory=dict)  # effective faults applied

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)

    def add(self, record: RequestRecord) -> None:
        """Log a request as it arrives; the record is filled in as it proceeds."""
        self._records.append(record)

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last `limit` requests, oldest first (the order they arrived in)."""
        records = list(self._records)[-limit:] if limit > 0 else []
        return [r.to_json() for r in records]

    def clear(self) -> None:
        self._records.clear()
