"""The hedge race."""

from __future__ import annotations

import asyncio

import pytest

from services.inference.policies.hedging import first_to_answer


async def answer(value: str, after: float, log: list[str]) -> str:
    try:
        await asyncio.sleep(after)
        return value
    except asyncio.CancelledError:
        log.append(f"{value} cancelled")
        raise


async def test_fast_primary_starts_no_hedge() -> None:
    log: list[str] = []
    started: list[int] = []

    def hedge():  # type: ignore[no-untyped-def]
        started.append(1)
        return answer("hedge", 0, log)

    assert await first_to_answer(lambda: answer("primary", 0.01, log), hedge, 0.1) == ("primary", 0)
    assert started == []


async def test_slow_primary_loses_to_the_hedge_and_is_cancelled() -> None:
    log: list[str] = []
    result = await first_to_answer(
        lambda: answer("primary", 1.0, log), lambda: answer("hedge", 0.01, log), 0.05)
    assert result == ("hedge", 1)
    assert log == ["primary cancelled"]


async def test_failed_hedge_leaves_the_primary_to_finish() -> None:
    async def broken() -> str:
        raise RuntimeError("hedge failed")

    log: list[str] = []
    assert await first_to_answer(lambda: answer("primary", 0.1, log), broken, 0.02) == (
        "primary", 0)


async def test_primary_failing_before_the_delay_raises_without_hedging() -> None:
    async def broken() -> str:
        raise ValueError("primary failed")

    started: list[int] = []
    with pytest.raises(ValueError):
        await first_to_answer(broken, lambda: started.append(1), 0.5)  # type: ignore[arg-type,func-returns-value]
    assert started == []
