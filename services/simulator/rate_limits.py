"""Per-provider request and token rate limits, reported the way OpenAI does.

Token buckets rather than a sliding 60 s window: OpenAI documents its limits
as continuously replenished ("reset" is the time until the bucket is full
again), so a bucket reproduces the headers and Retry-After values a client
will meet in production, in O(1) memory per provider instead of a log of
every request in the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 60.0


class TokenBucket:
    """`limit` units per minute, refilled continuously, starting full."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._rate = limit / WINDOW_S
        self._clock = clock
        self._level = float(limit)
        self._updated = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._level = min(self.limit, self._level + (now - self._updated) * self._rate)
        self._updated = now
        return self._level

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 if it is now; inf if it never fits)."""
        if amount > self.limit:
            return math.inf
        level = self._refill()
        return 0.0 if level >= amount else (amount - level) / self._rate

    def take(self, amount: float) -> None:
        self._refill()
        self._level -= amount

    def remaining(self) -> int:
        return max(0, math.floor(self._refill()))

    def seconds_until_full(self) -> float:
        return (self.limit - self._refill()) / self._rate


@dataclass(frozen=True)
class Admission:
    """The rate limiter's verdict on one request, with the headers to send either way."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    limited_by: str | None = None  # "requests" or "tokens" when refused
    retry_after_s: float | None = None  # None when waiting cannot help (request too large)


class ProviderRateLimiter:
    """RPM and TPM for one provider; a zero limit is not enforced and not reported."""

    def __init__(self, rpm: int, tpm: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rpm, self._tpm, self._clock = rpm, tpm, clock
        self.reset()

    def reset(self) -> None:
        self._requests = TokenBucket(self._rpm, self._clock) if self._rpm else None
        self._tokens = TokenBucket(self._tpm, self._clock) if self._tpm else None

    def admit(self, token_cost: int) -> Admission:
        """Take one request and `token_cost` tokens if both fit, else refuse and take nothing."""
        waits: dict[str, float] = {}
        if self._requests is not None:
            waits["requests"] = self._requests.wait_for(1)
        if self._tokens is not None:
            waits["tokens"] = self._tokens.wait_for(token_cost)
        blocked = {kind: wait for kind, wait in waits.items() if wait > 0}
        if blocked:
            limited_by = max(blocked, key=lambda kind: blocked[kind])
            wait = blocked[limited_by]
            return Admission(
                allowed=False,
                headers=self._headers(),
                limited_by=limited_by,
                retry_after_s=None if math.isinf(wait) else wait,
            )
        if self._requests is not None:
            self._requests.take(1)
        if self._tokens is not None:
            self._tokens.take(token_cost)
        return Admission(allowed=True, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, bucket in (("requests", self._requests), ("tokens", self._tokens)):
            if bucket is None:
                continue
            headers[f"x-ratelimit-limit-{kind}"] = str(bucket.limit)
            headers[f"x-ratelimit-remaining-{kind}"] = str(bucket.remaining())
            headers[f"x-ratelimit-reset-{kind}"] = format_reset(bucket.seconds_until_full())
        return headers


def format_reset(seconds: float) -> str:
    """A duration in OpenAI's header format: "120ms", "8.64s", "6m0s", "1h2m3s"."""
    millis = max(0, math.ceil(seconds * 1000))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def retry_after_headers(seconds: float) -> dict[str, str]:
    """Retry-After in whole seconds (rounded up, as HTTP requires) plus OpenAI's exact ms."""
    return {
        "Retry-After": str(math.ceil(seconds)),
        "retry-after-ms": str(math.ceil(seconds * 1000)),
    }
