"""What one request carries through a service: ids for logs and its deadline.

The server interceptor opens a RequestContext for every call it serves; the
client interceptor reads it to give outgoing calls the request id, tenant,
trace context and a shorter deadline. It lives in a contextvar, so it follows
the request through awaits and tasks without being passed around.
"""

from __future__ import annotations

import contextvars
import os
import secrets
import time
from dataclasses import dataclass, field

REQUEST_ID_HEADER = "x-request-id"
TENANT_HEADER = "x-keel-tenant"
TRACEPARENT_HEADER = "traceparent"


@dataclass
class RequestContext:
    request_id: str
    method: str = ""
    tenant_id: str = ""
    # W3C trace context (the format OpenTelemetry propagates).
    trace_id: str = field(default_factory=lambda: secrets.token_hex(16))
    parent_span_id: str = ""
    span_id: str = field(default_factory=lambda: secrets.token_hex(8))
    # Absolute deadline on the time.monotonic() clock; None means unbounded.
    deadline: float | None = None

    def time_remaining(self) -> float | None:
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()

    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "keel_request_context", default=None
)


def current() -> RequestContext | None:
    return _current.get()


def activate(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def deactivate(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


def new_request_id() -> str:
    return "req_" + os.urandom(12).hex()


def parse_traceparent(value: str) -> tuple[str, str] | None:
    """(trace_id, parent span id) from a W3C traceparent header, or None if malformed."""
    parts = value.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None
    if set(parts[1]) == {"0"} or set(parts[2]) == {"0"}:
        return None
    return parts[1], parts[2]
