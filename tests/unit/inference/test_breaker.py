"""The breaker adapter over pybreaker's state machine."""

from __future__ import annotations

import time

from services.inference.policies.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


def failing(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record_failure(permit)


def test_opens_after_fail_max_consecutive_failures() -> None:
    breaker = Breaker("t", fail_max=3, reset_timeout_s=60)
    failing(breaker, 2)
    assert breaker.state == CLOSED
    failing(breaker, 1)
    assert breaker.state == OPEN
    assert breaker.acquire() is None
    assert not breaker.allows()


def test_success_resets_the_consecutive_count() -> None:
    breaker = Breaker("t", fail_max=3, reset_timeout_s=60)
    failing(breaker, 2)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_success(permit)
    failing(breaker, 2)
    assert breaker.state == CLOSED


def test_released_calls_change_nothing() -> None:
    breaker = Breaker("t", fail_max=2, reset_timeout_s=60)
    failing(breaker, 1)
    for _ in range(5):
        permit = breaker.acquire()
        assert permit is not None
        breaker.release(permit)
    assert (breaker.state, breaker.failures) == (CLOSED, 1)


def test_half_open_lets_exactly_one_probe_through() -> None:
    breaker = Breaker("t", fail_max=1, reset_timeout_s=0.05)
    failing(breaker, 1)
    time.sleep(0.06)
    probe = breaker.acquire()
    assert probe is not None and probe.probe
    assert breaker.state == HALF_OPEN
    assert breaker.acquire() is None
    breaker.record_success(probe)
    assert breaker.state == CLOSED
    assert breaker.acquire() is not None


def test_failed_probe_opens_again() -> None:
    breaker = Breaker("t", fail_max=1, reset_timeout_s=0.05)
    failing(breaker, 1)
    time.sleep(0.06)
    probe = breaker.acquire()
    assert probe is not None
    breaker.record_failure(probe)
    assert breaker.state == OPEN
    assert breaker.open_remaining_s() > 0.03


def test_cancelled_probe_frees_the_probe_slot() -> None:
    breaker = Breaker("t", fail_max=1, reset_timeout_s=0.05)
    failing(breaker, 1)
    time.sleep(0.06)
    probe = breaker.acquire()
    assert probe is not None
    breaker.release(probe)
    assert breaker.acquire() is not None


def test_late_result_of_a_call_admitted_before_opening_is_ignored() -> None:
    breaker = Breaker("t", fail_max=1, reset_timeout_s=60)
    early = breaker.acquire()
    assert early is not None
    failing(breaker, 1)
    breaker.record_success(early)
    assert breaker.state == OPEN


def test_state_changes_are_reported() -> None:
    seen: list[tuple[str, str]] = []
    breaker = Breaker("t", fail_max=1, reset_timeout_s=0.01,
                      on_change=lambda _b, old, new: seen.append((old, new)))
    failing(breaker, 1)
    time.sleep(0.02)
    probe = breaker.acquire()
    assert probe is not None
    breaker.record_success(probe)
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
