"""Exponential backoff with full jitter (AWS architecture blog, "Exponential
Backoff And Jitter"): a delay drawn uniformly from [0, min(cap, base x 2^(n-1))].
Full jitter spreads the retries of many clients that failed together, so
they do not return together."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    base_s: float
    max_s: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def ceiling(self, retry: int) -> float:
        """The largest delay before retry number `retry` (1 = the first retry)."""
        if retry < 1:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** min(retry - 1, 62))

    def delay(self, retry: int) -> float:
        return self.rng.uniform(0.0, self.ceiling(retry))
