"""One attempt: one request to one target, from its permits to its last token.

It owns what must be settled however the attempt ends (an answer, a
failure, the caller cancelling, a hedge losing): the HTTP response is closed
at once, the breaker hears only about transient failures, the concurrency
slot is returned, and the tokens the provider produced are counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator

from services.core.errors import DeadlineExceeded
from services.inference import metrics
from services.inference.deadline import Deadline
from services.inference.policies.breaker import Permit
from services.inference.policies.provider_limits import Slot
from services.inference.providers.base import (
    Finished,
    ProviderRequest,
    ProviderStream,
    StreamEvent,
    TextDelta,
    UsageReport,
    estimate_prompt_tokens,
)
from services.inference.providers.errors import (
    FirstTokenTimeout,
    IdleTimeout,
    ProviderFailure,
    TransientFailure,
)
from services.inference.targets import Target
from services.inference.usage import AttemptUsage, PriceList, UsageTally

log = logging.getLogger("keel.inference.attempt")


class Attempt:
    def __init__(
        self,
        target: Target,
        request: ProviderRequest,
        permit: Permit,
        slot: Slot,
        *,
        tally: UsageTally,
        prices: PriceList,
        deadline: Deadline,
        first_token_timeout_s: float,
        idle_timeout_s: float,
    ) -> None:
        self.target = target
        self.request = request
        self._permit = permit
        self._slot = slot
        self._tally = tally
        self._prices = prices
        self._deadline = deadline
        self._first_token_timeout_s = first_token_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._stream: ProviderStream | None = None
        self._batches: AsyncIterator[list[StreamEvent]] | None = None
        self._received: deque[StreamEvent] = deque()
        self._started = time.monotonic()
        self._first_token_s: float | None = None
        self.text = ""
        self.deltas = 0
        self.finish_reason: str | None = None
        self._reported: UsageReport | None = None
        self._closed = False

    async def first_token(self) -> str:
        """Send the request and wait for its first text (empty for an empty answer)."""
        until = self._started + self._first_token_timeout_s
        self._stream = await self._within(
            self.target.provider.adapter.open(self.request), until, FirstTokenTimeout
        )
        self.target.provider.limits.observe(self._stream.headers)
        self._batches = self._stream.batches()
        while True:
            event = self._take()
            if event is None:
                if await self._within(self._receive(), until, FirstTokenTimeout):
                    continue
                return ""
            if isinstance(event, TextDelta):
                self._first_token_s = time.monotonic() - self._started
                metrics.PROVIDER_FIRST_TOKEN.labels(*self._labels()).observe(self._first_token_s)
                return event.text

    async def rest(self) -> AsyncIterator[str]:
        """The text after the first token, each delta within the idle timeout."""
        while True:
            event = self._take()
            if event is None:
                until = time.monotonic() + self._idle_timeout_s
                if await self._within(self._receive(), until, IdleTimeout):
                    continue
                return
            if isinstance(event, TextDelta):
                yield event.text

    async def _receive(self) -> bool:
        """Wait for the next events from the provider; False at the end of a complete answer.

        Events that arrived together wait in `_received`: taking them needs no
        timer, only waiting for more does.
        """
        assert self._batches is not None
        try:
            self._received.extend(await anext(self._batches))
        except StopAsyncIteration:
            return False
        return True

    def _take(self) -> StreamEvent | None:
        """The next event already received, bookkeeping done; None when none is waiting."""
        if not self._received:
            return None
        event = self._received.popleft()
        if isinstance(event, TextDelta):
            self.text += event.text
            self.deltas += 1
        elif isinstance(event, Finished):
            self.finish_reason = event.reason
        elif isinstance(event, UsageReport):
            self._reported = event
        return event

    async def _within(self, work, until: float, timeout_kind: type[TransientFailure]):  # type: ignore[no-untyped-def]
        """Await `work` until `until`, or the request's deadline if that comes first."""
        remaining = self._deadline.remaining()
        phase = until - time.monotonic()
        by_deadline = remaining is not None and remaining < phase
        limit = remaining if remaining is not None and by_deadline else phase
        try:
            async with asyncio.timeout(max(0.0, limit)):
                return await work
        except TimeoutError:
            if by_deadline:
                raise DeadlineExceeded(
                    "the deadline passed while waiting for the model provider"
                ) from None
            raise timeout_kind(
                f"no {'first ' if timeout_kind is FirstTokenTimeout else 'next '}token from "
                f"{self.target.ref} within {self._phase_timeout(timeout_kind):.3g} s"
            ) from None

    def _phase_timeout(self, kind: type[TransientFailure]) -> float:
        return self._first_token_timeout_s if kind is FirstTokenTimeout else self._idle_timeout_s

    def _labels(self) -> tuple[str, str]:
        return self.target.ref.provider, self.target.ref.model

    def close(self, error: BaseException | None) -> AttemptUsage:
        """Settle the attempt: None when it produced a complete answer."""
        if self._closed:
            raise RuntimeError("attempt closed twice")
        self._closed = True
        if self._stream is not None:
            self._stream.close()
        self._slot.release()
        breaker = self.target.breaker
        if error is None:
            breaker.record_success(self._permit)
            self.target.note_success(self._first_token_s, time.monotonic() - self._started)
            outcome = "ok"
        elif isinstance(error, TransientFailure):
            breaker.record_failure(self._permit)
            outcome = error.kind
        else:
            breaker.release(self._permit)
            if isinstance(error, ProviderFailure):
                outcome = error.kind
            elif isinstance(error, asyncio.CancelledError):
                outcome = "cancelled"
            elif isinstance(error, DeadlineExceeded):
                outcome = "deadline_exceeded"
            else:
                outcome = "error"
        usage = self._usage()
        self._tally.add(usage)
        provider, model = self._labels()
        metrics.PROVIDER_REQUESTS.labels(provider, model, outcome).inc()
        metrics.TOKENS.labels(provider, model, "input").inc(usage.input_tokens)
        metrics.TOKENS.labels(provider, model, "output").inc(usage.output_tokens)
        metrics.COST.labels(provider, model).inc(usage.cost_micros)
        self.target.provider.export_levels()
        return usage

    def _usage(self) -> AttemptUsage:
        if self._stream is None:
            # The provider never accepted the request: nothing to pay for.
            return AttemptUsage(self.target.ref, 0, 0, 0, reported=True)
        reported = self._reported
        input_tokens = reported.input_tokens if reported else None
        output_tokens = reported.output_tokens if reported else None
        exact = input_tokens is not None and output_tokens is not None
        if input_tokens is None:
            input_tokens = estimate_prompt_tokens(self.request.messages)
        if output_tokens is None:
            output_tokens = self.target.provider.adapter.estimate_output_tokens(
                self.text, self.deltas
            )
        cost = self._prices.cost_micros(self.target.ref.model, input_tokens, output_tokens)
        return AttemptUsage(self.target.ref, input_tokens, output_tokens, cost, reported=exact)
