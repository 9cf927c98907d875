"""A provider's own limits, kept on our side so we do not earn 429s we could predict.

- requests per minute and tokens per minute: aiolimiter leaky buckets; a
  request takes 1 from the first and its estimated tokens (prompt + max
  output, as providers count them) from the second;
- concurrent requests: a semaphore;
- a hold-back: when the provider says Retry-After, or its x-ratelimit-remaining
  headers reach zero, no request is sent until the time it named.

A zero limit is not enforced. Levels are exported for the status RPC and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from services.inference.providers.classify import parse_reset, retry_after_s

log = logging.getLogger("keel.inference.limits")


class LimitWaitExceeded(Exception):
    """The limits would not admit the request within the time it could wait."""


@dataclass(frozen=True)
class LimitLevels:
    requests_available: float  # inf when not limited
    tokens_available: float
    concurrency_available: int  # -1 when not limited
    in_flight: int
    held_back_s: float


class Slot:
    """A concurrency slot, released exactly once."""

    def __init__(self, limits: ProviderLimits) -> None:
        self._limits = limits
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limits._release()


class ProviderLimits:
    def __init__(
        self, name: str, rpm: int, tpm: int, max_concurrency: int, max_hold_back_s: float
    ) -> None:
        self.name = name
        self.rpm = rpm
        self.tpm = tpm
        self.max_concurrency = max_concurrency
        self.max_hold_back_s = max_hold_back_s
        self._requests = AsyncLimiter(rpm, 60) if rpm else None
        self._tokens = AsyncLimiter(tpm, 60) if tpm else None
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self.in_flight = 0
        self._held_until = 0.0

    # What a request asks of the token bucket. aiolimiter raises ValueError for
    # more than the bucket holds; such a request takes the whole bucket (it
    # waits until the bucket is empty and goes alone) rather than never going:
    # our configured tpm may be lower than what the provider really allows.
    def _token_cost(self, tokens: int) -> float:
        return float(min(max(tokens, 0), self.tpm))

    def held_back_s(self) -> float:
        return max(0.0, self._held_until - time.monotonic())

    def wait_estimate(self, tokens: int) -> float:
        """Seconds until this request would be admitted (0: now). A full
        concurrency limit counts as a short wait of unknown length."""
        wait = self.held_back_s()
        if self._requests is not None:
            wait = max(wait, _bucket_wait(self._requests, 1))
        if self._tokens is not None:
            wait = max(wait, _bucket_wait(self._tokens, self._token_cost(tokens)))
        if self._slots is not None and self._slots.locked():
            wait = max(wait, 0.001)
        return wait

    async def acquire(self, tokens: int, max_wait_s: float) -> Slot:
        """Admit one request, waiting at most max_wait_s; raises LimitWaitExceeded."""
        if self.wait_estimate(tokens) > max_wait_s:
            raise LimitWaitExceeded(self.name)
        try:
            async with asyncio.timeout(max(0.0, max_wait_s)):
                # A hold-back only ever moves later, so sleep until it has passed.
                while (held := self.held_back_s()) > 0:  # noqa: ASYNC110
                    await asyncio.sleep(held)
                if self._slots is not None:
                    await self._slots.acquire()
        except TimeoutError:
            raise LimitWaitExceeded(self.name) from None
        slot = Slot(self)
        self.in_flight += 1
        try:
            # The buckets are taken last, after the wait for a slot, so a
            # request does not hold rate capacity while it queues.
            async with asyncio.timeout(max(0.0, max_wait_s)):
                if self._requests is not None:
                    await self._requests.acquire(1)
                if self._tokens is not None:
                    await self._tokens.acquire(self._token_cost(tokens))
        except TimeoutError:
            slot.release()
            raise LimitWaitExceeded(self.name) from None
        except BaseException:
            slot.release()
            raise
        return slot

    def _release(self) -> None:
        self.in_flight -= 1
        if self._slots is not None:
            self._slots.release()

    def hold_back(self, seconds: float, why: str) -> None:
        seconds = min(max(seconds, 0.0), self.max_hold_back_s)
        until = time.monotonic() + seconds
        if until > self._held_until + 0.001:
            self._held_until = until
            log.warning("holding back %s for %.3f s (%s)", self.name, seconds, why,
                        extra={"provider": self.name, "hold_back_s": round(seconds, 3)})

    def observe(self, headers: Mapping[str, str]) -> None:
        """Tighten to what the provider reports (lower-cased header names)."""
        retry = retry_after_s(headers)
        if retry is not None and retry > 0:
            self.hold_back(retry, "Retry-After")
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            reset = headers.get(f"x-ratelimit-reset-{kind}")
            if remaining is None or reset is None:
                continue
            try:
                left = float(remaining)
            except ValueError:
                continue
            reset_s = parse_reset(reset)
            if left <= 0 and reset_s:
                # The provider's bucket refills continuously; one unit is back
                # after reset / limit, not after the whole reset time.
                limit = _float(headers.get(f"x-ratelimit-limit-{kind}"))
                self.hold_back(reset_s / limit if limit else reset_s, f"{kind} exhausted")

    def levels(self) -> LimitLevels:
        return LimitLevels(
            requests_available=_available(self._requests),
            tokens_available=_available(self._tokens),
            concurrency_available=(
                self.max_concurrency - self.in_flight if self._slots is not None else -1
            ),
            in_flight=self.in_flight,
            held_back_s=self.held_back_s(),
        )


# aiolimiter has no public reading of its level; these two helpers are the
# only places that look inside it (has_capacity() first brings it up to date).
def _level(limiter: AsyncLimiter) -> float:
    limiter.has_capacity(0)
    return float(limiter._level)


def _bucket_wait(limiter: AsyncLimiter, amount: float) -> float:
    excess = _level(limiter) + amount - limiter.max_rate
    return 0.0 if excess <= 0 else excess / (limiter.max_rate / limiter.time_period)


def _available(limiter: AsyncLimiter | None) -> float:
    if limiter is None:
        return math.inf
    return max(0.0, limiter.max_rate - _level(limiter))


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
