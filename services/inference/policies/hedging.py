"""Hedging: when the first attempt has not produced a token by a set delay,
start the same request on the next target and keep whichever answers first.

For short, latency-critical calls the tail latency of one provider is often
far above its median; a second request after the median has passed cuts the
tail at the price of some extra calls (Dean and Barroso, "The Tail at Scale").
The loser is cancelled at once, which closes its HTTP request; its tokens are
still counted by whoever ran it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def first_to_answer(
    primary: Callable[[], Awaitable[T]],
    hedge: Callable[[], Awaitable[T] | None],
    after_s: float,
    discard: Callable[[T], None] = lambda _: None,
) -> tuple[T, int]:
    """Run `primary`; if it has not finished after `after_s`, also run `hedge()`
    (which may return None: no hedge can be started). Returns the first
    successful result and 0 (primary) or 1 (hedge); the other is cancelled and
    awaited (or, if it also succeeded, handed to `discard`). When both fail,
    the primary's error is raised.
    """
    first = asyncio.ensure_future(primary())
    tasks: list[asyncio.Future[T]] = [first]
    pending: set[asyncio.Future[T]]
    try:
        early, _ = await asyncio.wait({first}, timeout=after_s)
        if not early:
            started = hedge()
            if started is not None:
                tasks.append(asyncio.ensure_future(started))
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            winners = [
                t for t in tasks if t in done and not t.cancelled() and t.exception() is None
            ]
            if winners:
                winner = winners[0]
                for other in winners[1:]:
                    discard(other.result())
                return winner.result(), tasks.index(winner)
        raise first.exception() or asyncio.CancelledError()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
