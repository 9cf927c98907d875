"""The retry budget and the backoff."""

from __future__ import annotations

import random

from services.inference.policies.backoff import Backoff
from services.inference.policies.retry_budget import RetryBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_budget_allows_the_floor_when_traffic_is_light() -> None:
    budget = RetryBudget(ratio=0.1, window_s=10, min_retries=3, clock=Clock())
    budget.record_first_attempt()
    assert [budget.try_spend() for _ in range(4)] == [True, True, True, False]


def test_budget_allows_ratio_of_first_attempts() -> None:
    budget = RetryBudget(ratio=0.1, window_s=10, min_retries=0, clock=Clock())
    for _ in range(200):
        budget.record_first_attempt()
    spent = sum(budget.try_spend() for _ in range(100))
    assert spent == 20


def test_budget_refills_as_the_window_slides() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.0, window_s=10, min_retries=2, clock=clock)
    assert budget.try_spend() and budget.try_spend()
    assert not budget.try_spend()
    clock.now += 10.5
    assert budget.try_spend()


def test_budget_counts_refusals() -> None:
    budget = RetryBudget(ratio=0.0, window_s=10, min_retries=0, clock=Clock())
    budget.try_spend()
    budget.try_spend()
    assert budget.exhausted_total == 2


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    backoff = Backoff(base_s=0.1, max_s=1.0, rng=random.Random(1))
    assert [backoff.ceiling(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    delays = [backoff.delay(3) for _ in range(500)]
    assert all(0 <= d <= 0.4 for d in delays)
    assert min(delays) < 0.05 and max(delays) > 0.35  # spread over the whole range


def test_backoff_never_overflows_on_huge_retry_numbers() -> None:
    assert Backoff(base_s=0.1, max_s=2.0).ceiling(10_000) == 2.0
