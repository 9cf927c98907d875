"""Per-provider counters, read by tests and benchmarks through the control API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# nginx's convention for "the client closed the connection before the answer".
STATUS_CLIENT_CLOSED = 499
# nginx's convention for "closed the connection without sending a response",
# which is what an injected cut does to a non-streamed request.
STATUS_NO_RESPONSE = 444


@dataclass
class ProviderStats:
    requests: int = 0  # chat requests received
    responses_by_status: Counter[str] = field(default_factory=Counter)
    tokens_in: int = 0  # prompt tokens of requests that reached generation
    tokens_out: int = 0  # output tokens actually sent to clients
    client_disconnects: int = 0  # requests whose client left before the end
    # Gauges: what is happening now, so a reset leaves them alone.
    open_streams: int = 0
    in_flight: int = 0

    def reset(self) -> None:
        """Zero the counters; gauges keep describing the requests still running."""
        self.requests = 0
        self.responses_by_status = Counter()
        self.tokens_in = 0
        self.tokens_out = 0
        self.client_disconnects = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "responses_by_status": dict(sorted(self.responses_by_status.items())),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "open_streams": self.open_streams,
            "client_disconnects": self.client_disconnects,
            "in_flight": self.in_flight,
        }
