"""A retry budget: extra attempts (retries, fallbacks, hedges) are at most a
fixed fraction of first attempts over a sliding window, with a small floor.

Per-request attempt limits alone let an outage multiply upstream traffic by
the attempt count exactly when the provider can least take it; a budget caps
the multiplier at about 1 + ratio whatever the per-request limits are (the
approach of Finagle's RetryBudget and the Google SRE book). The floor lets a
quiet service still retry its occasional failure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

_SLOTS = 10


class RetryBudget:
    def __init__(
        self,
        ratio: float,
        window_s: float,
        min_retries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.window_s = window_s
        self.min_retries = min_retries
        self._clock = clock
        # The window is kept as _SLOTS buckets: O(1) memory, and the window
        # slides in steps of window_s / _SLOTS.
        self._slot_s = window_s / _SLOTS
        self._firsts = [0] * _SLOTS
        self._retries = [0] * _SLOTS
        self._epoch = self._slot_now()
        self.exhausted_total = 0

    def _slot_now(self) -> int:
        return math.floor(self._clock() / self._slot_s)

    def _advance(self) -> int:
        now = self._slot_now()
        stale = min(now - self._epoch, _SLOTS)
        for step in range(stale):
            index = (self._epoch + 1 + step) % _SLOTS
            self._firsts[index] = 0
            self._retries[index] = 0
        self._epoch = max(self._epoch, now)
        return now % _SLOTS

    def record_first_attempt(self) -> None:
        self._firsts[self._advance()] += 1

    def allowance(self) -> int:
        """Extra attempts the window allows in total right now."""
        self._advance()
        return max(self.min_retries, math.floor(self.ratio * sum(self._firsts)))

    def available(self) -> int:
        return max(0, self.allowance() - sum(self._retries))

    def try_spend(self) -> bool:
        """Take one extra attempt from the budget; False when it is spent."""
        if self.available() <= 0:
            self.exhausted_total += 1
            return False
        self._retries[self._advance()] += 1
        return True
