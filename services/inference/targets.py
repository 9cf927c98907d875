"""The provider pool: one runtime per provider (adapter, limits) and one
target per (provider, model) with its breaker and recent latencies."""

from __future__ import annotations

import math
import statistics
import time
from collections import deque
from collections.abc import Callable

from services.inference import metrics
from services.inference.policies.breaker import CLOSED, HALF_OPEN, OPEN, Breaker
from services.inference.policies.provider_limits import ProviderLimits
from services.inference.providers import adapter_for
from services.inference.providers.base import ProviderAdapter
from services.inference.settings import InferenceSettings, ProviderSettings, TargetRef

_BREAKER_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
_RECENT = 50


class ProviderRuntime:
    def __init__(self, settings: ProviderSettings, max_hold_back_s: float) -> None:
        self.settings = settings
        self.name = settings.name
        self.adapter: ProviderAdapter = adapter_for(settings)
        self.limits = ProviderLimits(
            settings.name, settings.rpm, settings.tpm, settings.max_concurrency, max_hold_back_s
        )

    def export_levels(self) -> None:
        levels = self.limits.levels()
        for kind, value in (("requests", levels.requests_available),
                            ("tokens", levels.tokens_available),
                            ("concurrency", float(levels.concurrency_available))):
            if not math.isinf(value) and value >= 0:
                metrics.LIMITER_AVAILABLE.labels(self.name, kind).set(value)
        metrics.HELD_BACK.labels(self.name).set(levels.held_back_s)


class Target:
    def __init__(
        self,
        ref: TargetRef,
        provider: ProviderRuntime,
        fail_max: int,
        reset_timeout_s: float,
        on_breaker_change: Callable[[Target], None],
    ) -> None:
        self.ref = ref
        self.provider = provider
        self._on_breaker_change = on_breaker_change
        self.breaker = Breaker(str(ref), fail_max, reset_timeout_s, on_change=self._changed)
        self._first_token_s: deque[float] = deque(maxlen=_RECENT)
        self._total_s: deque[float] = deque(maxlen=_RECENT)
        self.last_success_at: float | None = None
        # Set by health probes (and real successes): None until known.
        self.reachable: bool | None = None
        metrics.BREAKER_STATE.labels(ref.provider, ref.model).set(0)

    def _changed(self, _breaker: Breaker, _old: str, new: str) -> None:
        metrics.BREAKER_STATE.labels(self.ref.provider, self.ref.model).set(_BREAKER_GAUGE[new])
        metrics.BREAKER_TRANSITIONS.labels(self.ref.provider, self.ref.model, new).inc()
        self._on_breaker_change(self)

    def note_success(self, first_token_s: float | None, total_s: float) -> None:
        if first_token_s is not None:
            self._first_token_s.append(first_token_s)
        self._total_s.append(total_s)
        self.last_success_at = time.monotonic()
        self.reachable = True

    def first_token_p50_s(self) -> float | None:
        return statistics.median(self._first_token_s) if self._first_token_s else None

    def total_p50_s(self) -> float | None:
        return statistics.median(self._total_s) if self._total_s else None

    def can_serve(self) -> bool:
        """For health: not behind an open breaker and not known unreachable."""
        return self.breaker.state != OPEN and self.reachable is not False


class TargetPool:
    def __init__(
        self, settings: InferenceSettings, on_breaker_change: Callable[[Target], None]
    ) -> None:
        policy = settings.policy
        self.providers = {
            name: ProviderRuntime(p, policy.max_hold_back_s)
            for name, p in settings.providers.items()
        }
        self.targets: dict[TargetRef, Target] = {
            ref: Target(ref, self.providers[ref.provider], policy.breaker_fail_max,
                        policy.breaker_reset_timeout_s, on_breaker_change)
            for ref in settings.targets
        }

    def __getitem__(self, ref: TargetRef) -> Target:
        return self.targets[ref]

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.adapter.close()
