"""Deadline arithmetic, shared by every hop.

grpc.aio reports "no deadline" as None from time_remaining(); the sync API
reports a huge number instead. Both mean unbounded here.
"""

from __future__ import annotations

# Anything further away than this is "no deadline" (the sync API's sentinel
# is around 1e9 s or more, a real deadline is never days away).
UNBOUNDED_AFTER_S = 10 * 24 * 3600.0


def normalise_remaining(remaining: float | None) -> float | None:
    """Time remaining in seconds, or None when the caller set no deadline."""
    if remaining is None or remaining >= UNBOUNDED_AFTER_S:
        return None
    return remaining


def effective_timeout(client_remaining: float | None, default_s: float, maximum_s: float) -> float:
    """The time a public call gets: the client's, else the default; never over the maximum."""
    remaining = normalise_remaining(client_remaining)
    if remaining is None:
        remaining = default_s
    return min(remaining, maximum_s)


def downstream_timeout(
    remaining: float | None, margin_s: float, requested: float | None = None
) -> float | None:
    """Timeout for an outgoing call: what remains minus our margin, and no more
    than the caller of the outgoing call asked for. None when unbounded.

    A result <= 0 means the call cannot finish in time and must not start.
    """
    remaining = normalise_remaining(remaining)
    budget = None if remaining is None else remaining - margin_s
    if requested is not None:
        budget = requested if budget is None else min(budget, requested)
    return budget
