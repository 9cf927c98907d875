"""Tokens and cost of every attempt a request made, and the price list.

Usage comes from the provider's own report when it sent one, from an
estimate otherwise (an attempt cut off mid-stream, a cancelled call); cost is
integer micro-units: ceil(tokens x price per million / 1e6), per attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from keel.v1 import generation_pb2

from services.inference.settings import Price, TargetRef

log = logging.getLogger("keel.inference.usage")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class PriceList:
    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = dict(prices)
        self._warned: set[str] = set()

    def cost_micros(self, model: str, input_tokens: int, output_tokens: int) -> int:
        price = self._prices.get(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                log.warning("no [pricing.%s] entry: its calls are counted at zero cost", model)
            return 0
        return _ceil_div(input_tokens * price.input_per_mtok_micros, 1_000_000) + _ceil_div(
            output_tokens * price.output_per_mtok_micros, 1_000_000
        )


@dataclass(frozen=True)
class AttemptUsage:
    target: TargetRef
    input_tokens: int
    output_tokens: int
    cost_micros: int
    reported: bool  # False when any figure is an estimate


@dataclass
class UsageTally:
    """Every attempt of one request: retries, fallbacks, hedges and cut streams."""

    attempts: list[AttemptUsage] = field(default_factory=list)

    def add(self, usage: AttemptUsage) -> None:
        self.attempts.append(usage)

    @property
    def input_tokens(self) -> int:
        return sum(a.input_tokens for a in self.attempts)

    @property
    def output_tokens(self) -> int:
        return sum(a.output_tokens for a in self.attempts)

    @property
    def cost_micros(self) -> int:
        return sum(a.cost_micros for a in self.attempts)

    def to_proto(self, currency: str) -> generation_pb2.Usage:
        return generation_pb2.Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_micros=self.cost_micros,
            currency=currency,
        )

    def describe(self) -> dict[str, object]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_micros": self.cost_micros, "attempts": len(self.attempts)}
