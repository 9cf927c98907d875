"""Deadline arithmetic: what each hop gives the next one."""

from __future__ import annotations

import pytest

from services.core.deadlines import (
    UNBOUNDED_AFTER_S,
    downstream_timeout,
    effective_timeout,
    normalise_remaining,
)


def test_aio_none_means_no_deadline() -> None:
    assert normalise_remaining(None) is None


def test_sync_apis_huge_remaining_means_no_deadline() -> None:
    # The sync server API reports "no deadline" as a very large number.
    assert normalise_remaining(1.8e18) is None
    assert normalise_remaining(UNBOUNDED_AFTER_S) is None


def test_a_real_remaining_time_is_kept() -> None:
    assert normalise_remaining(0.25) == 0.25


def test_downstream_gets_remaining_minus_margin() -> None:
    assert downstream_timeout(0.3, 0.015) == pytest.approx(0.285)


def test_downstream_never_gets_more_than_the_call_asked_for() -> None:
    assert downstream_timeout(10.0, 0.015, requested=2.0) == 2.0


def test_a_shorter_remaining_wins_over_the_requested_timeout() -> None:
    assert downstream_timeout(1.0, 0.015, requested=2.0) == pytest.approx(0.985)


def test_no_deadline_and_no_request_is_unbounded() -> None:
    assert downstream_timeout(None, 0.015) is None
    assert downstream_timeout(2e18, 0.015) is None


def test_no_deadline_keeps_the_requested_timeout() -> None:
    assert downstream_timeout(None, 0.015, requested=5.0) == 5.0


def test_less_time_than_the_margin_means_do_not_start() -> None:
    timeout = downstream_timeout(0.01, 0.015)
    assert timeout is not None and timeout <= 0


def test_gateway_applies_its_default_when_the_client_sets_none() -> None:
    assert effective_timeout(None, default_s=30.0, maximum_s=300.0) == 30.0
    assert effective_timeout(1e19, default_s=30.0, maximum_s=300.0) == 30.0


def test_gateway_caps_the_clients_deadline() -> None:
    assert effective_timeout(3600.0, default_s=30.0, maximum_s=300.0) == 300.0


def test_gateway_keeps_a_deadline_within_bounds() -> None:
    assert effective_timeout(0.3, default_s=30.0, maximum_s=300.0) == 0.3
