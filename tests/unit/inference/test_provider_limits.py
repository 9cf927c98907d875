"""Provider limits: buckets, concurrency, hold-backs from the provider's headers."""

from __future__ import annotations

import asyncio

import pytest

from services.inference.policies.provider_limits import LimitWaitExceeded, ProviderLimits
from services.inference.providers.classify import parse_reset, retry_after_s


async def test_rpm_bucket_admits_its_capacity_then_asks_to_wait() -> None:
    limits = ProviderLimits("p", rpm=2, tpm=0, max_concurrency=0, max_hold_back_s=60)
    for _ in range(2):
        (await limits.acquire(10, 0.0)).release()
    assert limits.wait_estimate(10) == pytest.approx(30.0, rel=0.01)
    with pytest.raises(LimitWaitExceeded):
        await limits.acquire(10, 1.0)


async def test_request_larger_than_the_tpm_bucket_takes_the_whole_bucket() -> None:
    # aiolimiter raises ValueError for more than its capacity; we clamp.
    limits = ProviderLimits("p", rpm=0, tpm=100, max_concurrency=0, max_hold_back_s=60)
    (await limits.acquire(5000, 0.0)).release()
    assert limits.levels().tokens_available == pytest.approx(0, abs=0.1)
    assert limits.wait_estimate(1) > 0


async def test_concurrency_slots_are_waited_for_and_released_once() -> None:
    limits = ProviderLimits("p", rpm=0, tpm=0, max_concurrency=1, max_hold_back_s=60)
    slot = await limits.acquire(1, 0.0)
    assert limits.wait_estimate(1) > 0
    waiter = asyncio.create_task(limits.acquire(1, 1.0))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    slot.release()
    slot.release()
    second = await waiter
    assert limits.levels().in_flight == 1
    second.release()
    assert limits.levels().concurrency_available == 1


async def test_retry_after_holds_every_request_back_until_it_passes() -> None:
    limits = ProviderLimits("p", rpm=0, tpm=0, max_concurrency=0, max_hold_back_s=60)
    limits.observe({"retry-after-ms": "150"})
    assert 0.1 < limits.held_back_s() <= 0.15
    loop = asyncio.get_running_loop()
    started = loop.time()
    (await limits.acquire(1, 1.0)).release()
    assert loop.time() - started >= 0.14


async def test_hold_back_is_capped() -> None:
    limits = ProviderLimits("p", rpm=0, tpm=0, max_concurrency=0, max_hold_back_s=5)
    limits.observe({"retry-after": "3600"})
    assert limits.held_back_s() <= 5


async def test_exhausted_ratelimit_headers_hold_back_until_one_unit_returns() -> None:
    limits = ProviderLimits("p", rpm=0, tpm=0, max_concurrency=0, max_hold_back_s=60)
    limits.observe({"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "1m0s"})
    assert 0.9 < limits.held_back_s() <= 1.0
    fresh = ProviderLimits("q", rpm=0, tpm=0, max_concurrency=0, max_hold_back_s=60)
    fresh.observe({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "2s"})
    assert fresh.held_back_s() == 0


def test_openai_reset_durations_parse() -> None:
    assert parse_reset("120ms") == pytest.approx(0.12)
    assert parse_reset("8.64s") == pytest.approx(8.64)
    assert parse_reset("6m0s") == pytest.approx(360)
    assert parse_reset("1h2m3s") == pytest.approx(3723)
    assert parse_reset("2") == 2
    assert parse_reset("soon") is None


def test_retry_after_reads_ms_seconds_and_http_dates() -> None:
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "1"}) == 0.25
    assert retry_after_s({"retry-after": "2"}) == 2
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"},
                         now=1445412470.0) == pytest.approx(10)
    assert retry_after_s({}) is None
