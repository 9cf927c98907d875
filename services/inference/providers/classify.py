"""Failure classification shared by every adapter: an HTTP answer that is not
2xx becomes exactly one ProviderFailure kind (see errors.py)."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from services.inference.providers.errors import (
    ContentRefused,
    ContextTooLong,
    ProviderFailure,
    RateLimited,
    RequestRejected,
    ServerError,
    TargetUnusable,
    TransientFailure,
)

# Statuses that say "try again later": timeouts, conflicts, rate limits,
# server errors and Anthropic's 529 overloaded.
_TRANSIENT = {408, 409, 425, 429}

_REFUSAL_CODES = {"content_policy_violation", "content_filter", "safety", "refusal"}
_REFUSAL_TEXT = re.compile(r"safety system|content (management )?policy|content filter", re.I)
_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length"}
_CONTEXT_TEXT = re.compile(
    r"context (length|window)|maximum context|prompt is too long|too many tokens", re.I
)


def classify_http_error(status: int, body: bytes, headers: Mapping[str, str]) -> ProviderFailure:
    """The failure an HTTP error answer means, with the provider's own words."""
    kind, code, message = _error_fields(body)
    text = message or f"HTTP {status}"
    retry_after = retry_after_s(headers)
    if status == 429:
        if code == "insufficient_quota":
            return TargetUnusable(f"account quota exhausted: {text}", status=status)
        return RateLimited(text, status=status, retry_after_s=retry_after)
    if status >= 500 or status in _TRANSIENT:
        return ServerError(text, status=status, retry_after_s=retry_after)
    if status in (401, 403):
        return TargetUnusable(f"credentials rejected: {text}", status=status)
    if status == 404:
        return TargetUnusable(f"model or endpoint not found: {text}", status=status)
    if code in _REFUSAL_CODES or kind in _REFUSAL_CODES or _REFUSAL_TEXT.search(text):
        return ContentRefused(text, status=status)
    if code in _CONTEXT_CODES or _CONTEXT_TEXT.search(text) or status == 413:
        return ContextTooLong(text, status=status)
    return RequestRejected(text, status=status)


def classify_stream_error(payload: Mapping[str, Any]) -> ProviderFailure:
    """An error sent inside a 200 stream (`{"error": {...}}` or Anthropic's error event)."""
    kind, code, message = _fields_of(payload)
    if kind in ("overloaded_error", "api_error", "server_error", "rate_limit_error") or not kind:
        return ServerError(message or "provider error inside the stream")
    failure = classify_http_error(400, json.dumps(payload).encode(), {})
    return failure if not isinstance(failure, TransientFailure) else ServerError(message)


def _error_fields(body: bytes) -> tuple[str, str, str]:
    try:
        payload = json.loads(body)
    except ValueError:
        return "", "", body[:300].decode("utf-8", "replace").strip()
    return _fields_of(payload) if isinstance(payload, Mapping) else ("", "", "")


def _fields_of(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    # OpenAI: {"error": {"message", "type", "code"}}; Anthropic:
    # {"type": "error", "error": {"type", "message"}}.
    error = payload.get("error", payload)
    if not isinstance(error, Mapping):
        return "", "", str(error)[:300]
    return (
        str(error.get("type") or ""),
        str(error.get("code") or ""),
        str(error.get("message") or "")[:300],
    )


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the provider asks us to wait: retry-after-ms, else Retry-After
    (seconds or an HTTP date). None when it did not say."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_reset(value: str) -> float | None:
    """OpenAI's x-ratelimit-reset-* durations ("120ms", "8.64s", "6m0s", "1h2m3s")."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    total, position = 0.0, 0
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            return None
        total += float(match.group(1)) * scale[match.group(2)]
        position = match.end()
    return total if position == len(value) else None
