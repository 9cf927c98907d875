"""The one place where the resilience policies are composed around a provider call.

For one generation, walk the model's fallback chain:

    for each target in the chain:
        skip it at once if its breaker is open, or its limits are exhausted
            while a later target is ready (a target is waited for only when
            nothing else can serve, and only as long as the deadline allows);
        up to max_attempts_per_target times:
            an attempt after the request's first (a retry, a fallback, a hedge)
                must fit the deadline and be granted by the retry budget;
            retries wait a full-jitter backoff (or the provider's Retry-After);
            limits -> breaker permit -> adapter call (hedged if configured);
            transient failure: try again / move on; content failure: stop and
            tell the caller; target unusable: move on.

A stream that breaks after some text continues on the next attempt from the
text already sent (a prefill), so the caller sees one stream. Everything here
is ordinary data flow; the policies themselves are small objects in policies/.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from services.core.errors import DeadlineExceeded, FailedPrecondition, KeelError, Unavailable
from services.inference import metrics
from services.inference.attempt import Attempt
from services.inference.deadline import Deadline
from services.inference.policies.backoff import Backoff
from services.inference.policies.hedging import first_to_answer
from services.inference.policies.provider_limits import LimitWaitExceeded
from services.inference.policies.retry_budget import RetryBudget
from services.inference.providers.base import ProviderRequest, estimate_prompt_tokens
from services.inference.providers.errors import (
    ProviderFailure,
    RequestRejected,
    TargetUnusable,
    TransientFailure,
)
from services.inference.settings import ModelSettings, PolicySettings, TargetRef
from services.inference.targets import Target, TargetPool
from services.inference.usage import PriceList, UsageTally

log = logging.getLogger("keel.inference.plan")


@dataclass
class Generation:
    """One request's progress through its chain."""

    model: ModelSettings
    request: ProviderRequest  # model field unset: each target names its own
    deadline: Deadline
    tally: UsageTally = field(default_factory=UsageTally)
    attempts: int = 0
    sent_text: str = ""
    sent_deltas: int = 0
    answered_by: TargetRef | None = None
    finish_reason: str = ""
    done: bool = False
    # What happened to targets that did not answer, for degraded_reason and errors.
    notes: list[str] = field(default_factory=list)
    last_failure: ProviderFailure | None = None
    soonest_retry_s: float | None = None

    def request_for(self, target: Target) -> ProviderRequest:
        request = self.request.for_model(target.ref.model)
        if self.sent_text:
            return request.continued_after(self.sent_text, self.sent_deltas)
        return request

    def note(self, target: Target, what: str) -> None:
        self.notes.append(f"{target.ref}: {what}")

    def retry_hint(self, seconds: float) -> None:
        if seconds > 0 and (self.soonest_retry_s is None or seconds < self.soonest_retry_s):
            self.soonest_retry_s = seconds

    @property
    def degraded_reason(self) -> str:
        if self.answered_by is None or self.answered_by == self.model.chain[0]:
            return ""
        tried = "; ".join(self.notes) or "primary did not answer first"
        return f"answered by {self.answered_by}: {tried}"


class _NoHedge(Exception):
    """No later target could start a hedge."""


@dataclass
class _Admitted:
    attempt: Attempt


class CallPlan:
    def __init__(
        self,
        pool: TargetPool,
        policy: PolicySettings,
        prices: PriceList,
        *,
        budget: RetryBudget | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.prices = prices
        self.budget = budget or RetryBudget(
            policy.retry_budget_ratio, policy.retry_budget_window_s,
            policy.retry_budget_min_retries,
        )
        self.backoff = backoff or Backoff(policy.backoff_base_s, policy.backoff_max_s)

    # -- the walk ---------------------------------------------------------

    async def stream(self, gen: Generation) -> AsyncGenerator[str, None]:
        """The answer's text deltas; on return, `gen` holds usage and provenance.

        Raises a KeelError when no target answered (UNAVAILABLE with a retry
        hint, DEADLINE_EXCEEDED, or the content error of a rejected request).
        """
        chain = [self.pool[ref] for ref in gen.model.chain]
        for position, target in enumerate(chain):
            for retry in range(self.policy.max_attempts_per_target):
                admitted = await self._admit(gen, chain, position, retry)
                if admitted is None:
                    break
                try:
                    async for delta in self._run(gen, chain, position, admitted):
                        yield delta
                    gen.done = True
                    return
                except TransientFailure as failure:
                    self._after_transient(gen, admitted.attempt.target, failure)
                    if admitted.attempt.target is not target:
                        break  # a hedge answered, then failed: carry on down the chain
                except TargetUnusable as failure:
                    gen.note(admitted.attempt.target, failure.kind)
                    gen.last_failure = failure
                    log.error("target unusable: %s", failure.message,
                              extra={"target": str(admitted.attempt.target.ref)})
                    break
                except RequestRejected as failure:
                    raise failure.to_keel_error(admitted.attempt.target.ref.provider) from None
        raise self._exhausted(gen)

    async def _admit(
        self, gen: Generation, chain: list[Target], position: int, retry: int
    ) -> _Admitted | None:
        """Decide whether and when `chain[position]` gets an attempt; None: skip it."""
        target = chain[position]
        ref = target.ref
        if not target.breaker.allows():
            self._skip(gen, target, "breaker open", target.breaker.open_remaining_s())
            return None
        tokens = self._token_estimate(gen, target)
        limits = target.provider.limits
        wait = limits.wait_estimate(tokens)
        later_ready = any(self._ready(gen, t) for t in chain[position + 1 :])
        if wait > 0 and later_ready:
            self._skip(gen, target, "provider limits", wait)
            return None
        delay = self.backoff.delay(retry) if retry else 0.0
        extra = gen.attempts > 0
        needed = self._expected_first_token_s(target) if extra else self.policy.min_attempt_s
        max_wait = self.policy.max_limit_wait_s
        remaining = gen.deadline.remaining()
        if remaining is not None:
            max_wait = min(max_wait, remaining - delay - needed)
        if not gen.deadline.fits(delay + max(wait, 0) + needed) or max_wait < 0:
            self._skip(gen, target, "not enough time left", 0)
            return None
        if wait > max_wait:
            self._skip(gen, target, "provider limits", wait)
            return None
        if extra and not self.budget.try_spend():
            metrics.RETRY_BUDGET_EXHAUSTED.inc()
            self._skip(gen, target, "retry budget spent", 1.0)
            return None
        if delay:
            await asyncio.sleep(delay)
        try:
            slot = await limits.acquire(tokens, max(0.0, max_wait))
        except LimitWaitExceeded:
            self._skip(gen, target, "provider limits", limits.wait_estimate(tokens))
            return None
        permit = target.breaker.acquire()
        if permit is None:
            slot.release()
            self._skip(gen, target, "breaker open", target.breaker.open_remaining_s())
            return None
        if extra:
            metrics.EXTRA_ATTEMPTS.labels("retry" if retry else "fallback").inc()
        else:
            self.budget.record_first_attempt()
        gen.attempts += 1
        log.debug("attempt %d on %s", gen.attempts, ref)
        return _Admitted(self._attempt(gen, target, permit, slot))

    def _attempt(self, gen: Generation, target: Target, permit, slot) -> Attempt:  # type: ignore[no-untyped-def]
        return Attempt(
            target, gen.request_for(target), permit, slot,
            tally=gen.tally, prices=self.prices, deadline=gen.deadline,
            first_token_timeout_s=gen.model.first_token_timeout_s,
            idle_timeout_s=gen.model.idle_timeout_s,
        )

    async def _run(
        self, gen: Generation, chain: list[Target], position: int, admitted: _Admitted
    ) -> AsyncIterator[str]:
        """One attempt (hedged when configured) streamed to its end."""
        attempt = admitted.attempt
        error: BaseException | None = None
        try:
            first = await self._first_token(gen, chain, position, admitted)
            attempt = admitted.attempt  # a hedge may have won
            gen.answered_by = attempt.target.ref
            if first:
                gen.sent_text += first
                gen.sent_deltas += 1
                yield first
            async for delta in attempt.rest():
                gen.sent_text += delta
                gen.sent_deltas += 1
                yield delta
            gen.finish_reason = attempt.finish_reason or "stop"
        except BaseException as failure:
            error = failure
            raise
        finally:
            attempt.close(error)

    async def _first_token(
        self, gen: Generation, chain: list[Target], position: int, admitted: _Admitted
    ) -> str:
        primary = admitted.attempt
        hedge_after = gen.model.hedge_after_s
        if not hedge_after or position + 1 >= len(chain) or gen.sent_text:
            return await primary.first_token()
        hedges: list[Attempt] = []
        errors: dict[int, BaseException] = {}

        async def hedged() -> str:
            hedge = await self._hedge(gen, chain[position + 1 :])
            if hedge is None:
                raise _NoHedge
            hedges.append(hedge)
            try:
                return await hedge.first_token()
            except BaseException as error:
                errors[id(hedge)] = error
                raise

        try:
            first, winner = await first_to_answer(primary.first_token, hedged, hedge_after)
        except BaseException:
            for hedge in hedges:
                hedge.close(errors.get(id(hedge), asyncio.CancelledError()))
            raise
        if winner == 1:
            # The primary lost: closed as cancelled (its breaker untouched, its
            # tokens counted); the hedge carries on.
            primary.close(asyncio.CancelledError())
            admitted.attempt = hedges[0]
            gen.note(primary.target, f"no first token within {hedge_after:.3g} s, hedged")
        else:
            for hedge in hedges:
                hedge.close(errors.get(id(hedge), asyncio.CancelledError()))
        return first

    async def _hedge(self, gen: Generation, rest: list[Target]) -> Attempt | None:
        """An attempt on the first later target that can start at once, or None."""
        for target in rest:
            if not self._ready(gen, target) or not gen.deadline.fits(
                self._expected_first_token_s(target)
            ):
                continue
            tokens = self._token_estimate(gen, target)
            try:
                slot = await target.provider.limits.acquire(tokens, 0.0)
            except LimitWaitExceeded:
                continue
            permit = target.breaker.acquire()
            if permit is None:
                slot.release()
                continue
            if not self.budget.try_spend():
                target.breaker.release(permit)
                slot.release()
                metrics.RETRY_BUDGET_EXHAUSTED.inc()
                return None
            metrics.EXTRA_ATTEMPTS.labels("hedge").inc()
            gen.attempts += 1
            return self._attempt(gen, target, permit, slot)
        return None

    # -- helpers ----------------------------------------------------------

    def _ready(self, gen: Generation, target: Target) -> bool:
        """Could this target take an attempt right now, without waiting?"""
        return target.breaker.allows() and target.provider.limits.wait_estimate(
            self._token_estimate(gen, target)
        ) <= 0

    def _token_estimate(self, gen: Generation, target: Target) -> int:
        # Providers count a request against tokens-per-minute by its prompt
        # plus the most it may generate.
        request = gen.request_for(target)
        return estimate_prompt_tokens(request.messages) + request.max_tokens

    def _expected_first_token_s(self, target: Target) -> float:
        """The least time an attempt on this target needs to be worth starting."""
        return max(self.policy.min_attempt_s, target.first_token_p50_s() or 0.0)

    def _skip(self, gen: Generation, target: Target, reason: str, retry_in_s: float) -> None:
        gen.note(target, reason)
        gen.retry_hint(retry_in_s)
        metrics.SKIPPED.labels(target.ref.provider, target.ref.model, reason).inc()

    def _after_transient(self, gen: Generation, target: Target, failure: TransientFailure) -> None:
        gen.last_failure = failure
        gen.note(target, failure.kind + (f" {failure.status}" if failure.status else ""))
        limits = target.provider.limits
        if failure.headers:
            limits.observe(failure.headers)
        if failure.retry_after_s:
            limits.hold_back(failure.retry_after_s, f"{failure.kind} with Retry-After")
            gen.retry_hint(failure.retry_after_s)
        log.info("attempt failed: %s", failure.message,
                 extra={"target": str(target.ref), "kind": failure.kind})

    def _exhausted(self, gen: Generation) -> KeelError:
        if gen.deadline.expired() or (gen.notes and gen.notes[-1].endswith("not enough time left")
                                      and gen.attempts == 0):
            return DeadlineExceeded(
                "the deadline left no time for a model provider call",
                metadata={"tried": "; ".join(gen.notes)[:500]},
            )
        last = gen.last_failure
        if isinstance(last, TargetUnusable) and all("target_unusable" in n for n in gen.notes):
            # Nothing will change by retrying: every target needs an operator.
            return FailedPrecondition(
                "no provider of this model can serve it (credentials, model name or quota)",
                reason="NO_USABLE_PROVIDER",
                metadata={"model": gen.model.name, "tried": "; ".join(gen.notes)[:500]},
            )
        message = "no model provider could answer"
        if last is not None:
            message += f" (last: {last.kind})"
        return Unavailable(
            message,
            reason="NO_PROVIDER_AVAILABLE",
            metadata={"model": gen.model.name, "tried": "; ".join(gen.notes)[:500],
                      "attempts": str(gen.attempts)},
            retry_after_s=gen.soonest_retry_s if gen.soonest_retry_s is not None else 1.0,
        )
