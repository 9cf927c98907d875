"""The request's deadline as inference sees it: what the caller propagated
minus the margin it keeps for turning a result into its reply."""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.core import request_context


@dataclass(frozen=True)
class Deadline:
    at: float | None  # time.monotonic() clock; None: unbounded

    @classmethod
    def of_current_request(cls, margin_s: float) -> Deadline:
        ctx = request_context.current()
        if ctx is None or ctx.deadline is None:
            return cls(None)
        return cls(ctx.deadline - margin_s)

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(None if seconds is None else time.monotonic() + seconds)

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def fits(self, seconds: float) -> bool:
        remaining = self.remaining()
        return remaining is None or remaining >= seconds

    def expired(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0
