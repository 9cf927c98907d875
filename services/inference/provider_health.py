"""Inference health: SERVING while at least one target can serve.

A target can serve when its breaker is not open and it is not known to be
unreachable. Health is re-evaluated the moment a breaker changes state and on
every interval. It stays cheap while real traffic succeeds: a target that
answered a real request within `probe_after_idle_s` is not probed; one that
has not gets a one-token probe in the background. A probe of a target whose
breaker has waited out its reset timeout is the breaker's half-open trial, so
an idle suite (callers send nothing while we report NOT_SERVING) still finds
out when a provider is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from services.inference.attempt import Attempt
from services.inference.deadline import Deadline
from services.inference.policies.breaker import OPEN
from services.inference.policies.provider_limits import LimitWaitExceeded
from services.inference.providers.base import ChatTurn, ProviderRequest
from services.inference.providers.errors import ProviderFailure
from services.inference.settings import PolicySettings
from services.inference.targets import Target, TargetPool
from services.inference.usage import PriceList, UsageTally

log = logging.getLogger("keel.inference.health")

_PROBE = (ChatTurn("user", "ping"),)


class ProviderHealth:
    def __init__(
        self,
        pool: TargetPool,
        policy: PolicySettings,
        prices: PriceList,
        report: Callable[[bool, str], Awaitable[None]],
    ) -> None:
        self.pool = pool
        self.policy = policy
        self.prices = prices
        self._report = report
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._probes: set[asyncio.Task[None]] = set()

    def any_can_serve(self) -> bool:
        return any(t.can_serve() for t in self.pool.targets.values())

    def breaker_changed(self, _target: Target) -> None:
        """Called from a breaker transition: re-evaluate without waiting for the tick."""
        self._wake.set()

    async def evaluate(self) -> None:
        serving = self.any_can_serve()
        why = "a provider target can serve" if serving else (
            "no provider target can serve: "
            + ", ".join(f"{t.ref} {'breaker open' if t.breaker.state == OPEN else 'unreachable'}"
                        for t in self.pool.targets.values())
        )
        await self._report(serving, why)

    async def probe_stale(self) -> None:
        """Probe, concurrently, every target that has not shown it works lately."""
        if not self.policy.probe_after_idle_s:
            return
        now = time.monotonic()
        due = [
            t for t in self.pool.targets.values()
            if t.breaker.allows()
            and (t.last_success_at is None
                 or now - t.last_success_at > self.policy.probe_after_idle_s)
        ]
        if due:
            await asyncio.gather(*(self.probe(t) for t in due))

    async def probe(self, target: Target) -> bool:
        """One one-token call through the target's breaker and limits."""
        permit = target.breaker.acquire()
        if permit is None:
            return False
        try:
            slot = await target.provider.limits.acquire(16, 0.0)
        except LimitWaitExceeded:
            target.breaker.release(permit)
            return False
        attempt = Attempt(
            target, ProviderRequest(target.ref.model, _PROBE, max_tokens=1, request_id="probe"),
            permit, slot, tally=UsageTally(), prices=self.prices,
            deadline=Deadline.after(self.policy.probe_timeout_s),
            first_token_timeout_s=self.policy.probe_timeout_s,
            idle_timeout_s=self.policy.probe_timeout_s,
        )
        error: BaseException | None = None
        try:
            await attempt.first_token()
            async for _ in attempt.rest():
                pass
        except (ProviderFailure, Exception) as failure:  # noqa: BLE001 - any failure: unreachable
            error = failure
        finally:
            attempt.close(error)
        target.reachable = error is None
        if error is not None:
            log.info("probe of %s failed: %s", target.ref, type(error).__name__)
        return error is None

    async def start(self) -> None:
        """One round now (so the first report is informed), then in the background."""
        await self._round()
        self._task = asyncio.create_task(self._loop(), name="provider-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _round(self) -> None:
        try:
            await self.probe_stale()
        finally:
            await self.evaluate()

    async def _loop(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.policy.health_interval_s):
                    await self._wake.wait()
                self._wake.clear()
                await self.evaluate()  # a breaker changed: report at once
            except TimeoutError:
                try:
                    await self._round()
                except Exception:  # noqa: BLE001 - the loop must outlive any one round
                    log.exception("health round failed")
