"""How long one request takes: the provider's normal latency, its slow tail,
and fault overrides."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.simulator.faults import FaultSpec
from services.simulator.settings import ProviderSettings


@dataclass(frozen=True)
class Latency:
    ttft_s: float  # before the first token
    token_s: float  # per token after that

    def total_s(self, tokens: int) -> float:
        """Non-streamed answers arrive all at once, after the whole generation time."""
        return self.ttft_s + tokens * self.token_s


def choose_latency(settings: ProviderSettings, faults: FaultSpec, rng: random.Random) -> Latency:
    """Draw this request's latency.

    Real providers have a long tail (queueing, cold replicas); a fraction of
    requests is slowed by `tail_multiplier` so hedging and first-token timeouts
    have something to act on. An injected ttft_ms/token_ms is exact: a test that
    sets it wants that value, not a value that is sometimes multiplied.
    """
    factor = 1.0
    if settings.tail_probability > 0 and rng.random() < settings.tail_probability:
        factor = settings.tail_multiplier
    ttft_ms = faults.ttft_ms if faults.ttft_ms is not None else settings.ttft_ms * factor
    token_ms = faults.token_ms if faults.token_ms is not None else settings.token_ms * factor
    return Latency(ttft_s=ttft_ms / 1000, token_s=token_ms / 1000)
