"""A circuit breaker per (provider, model), pybreaker's state machine driven from asyncio.

pybreaker's own async support needs Tornado, and its decorator counts a
coroutine as succeeded as soon as it is created. So this adapter asks for a
permit before the awaited call and reports the call's outcome after it,
feeding pybreaker's counters and transitions (and its listeners) through its
synchronous `calling()` context.

Two things the plain state machine does not do, added here:
- half-open lets exactly one probe through at a time, not every caller;
- only transient failures count: a content refusal or a cancelled call is
  released without touching the breaker (pybreaker would count an excluded
  error as a success and reset the failure count).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pybreaker

log = logging.getLogger("keel.inference.breaker")

CLOSED = pybreaker.STATE_CLOSED
OPEN = pybreaker.STATE_OPEN
HALF_OPEN = pybreaker.STATE_HALF_OPEN


class _Failure(Exception):
    """What the breaker is told when a guarded call failed."""


@dataclass
class Permit:
    """Leave to make one call; `probe` when it is the half-open trial call."""

    probe: bool
    settled: bool = False


class Breaker:
    def __init__(
        self,
        name: str,
        fail_max: int,
        reset_timeout_s: float,
        on_change: Callable[[Breaker, str, str], None] | None = None,
    ) -> None:
        self.name = name
        self._on_change = on_change
        self._cb = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout_s,
            name=name,
            listeners=[_Listener(self)],
            # Keep our own exception: the trip is reported through the listener.
            throw_new_error_on_trip=False,
        )
        self._probe_out = False
        self._lock = threading.RLock()

    @property
    def state(self) -> str:
        return self._cb.current_state

    @property
    def failures(self) -> int:
        return self._cb.fail_counter

    def open_remaining_s(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state != OPEN:
            return 0.0
        opened = self._cb._state_storage.opened_at  # pybreaker exposes no getter
        if opened is None:
            return 0.0
        elapsed = (datetime.now(UTC) - opened).total_seconds()
        return max(0.0, self._cb.reset_timeout - elapsed)

    def allows(self) -> bool:
        """Would a call be let through now? (No state change.)"""
        state = self.state
        if state == CLOSED:
            return True
        if state == OPEN and self.open_remaining_s() > 0:
            return False
        return not self._probe_out

    def acquire(self) -> Permit | None:
        """A permit for one call, or None: the breaker is open (skip this target at once)."""
        with self._lock:
            state = self.state
            if state == CLOSED:
                return Permit(probe=False)
            if self._probe_out or (state == OPEN and self.open_remaining_s() > 0):
                return None
            if state == OPEN:
                self._cb.half_open()
            self._probe_out = True
            return Permit(probe=True)

    def record_success(self, permit: Permit) -> None:
        self._settle(permit, failed=False)

    def record_failure(self, permit: Permit) -> None:
        self._settle(permit, failed=True)

    def release(self, permit: Permit) -> None:
        """The call ended in a way that says nothing about the provider's health."""
        with self._lock:
            if not permit.settled:
                permit.settled = True
                if permit.probe:
                    self._probe_out = False

    def _settle(self, permit: Permit, *, failed: bool) -> None:
        with self._lock:
            if permit.settled:
                return
            permit.settled = True
            state = self.state
            if permit.probe:
                self._probe_out = False
            elif state != CLOSED:
                # A call admitted while closed that ended after the breaker
                # opened: the probe alone decides what happens next.
                return
            try:
                with self._cb.calling():
                    if failed:
                        raise _Failure
            except (_Failure, pybreaker.CircuitBreakerError):
                pass

    def _changed(self, old: str, new: str) -> None:
        log.warning("breaker %s: %s -> %s", self.name, old, new,
                    extra={"breaker": self.name, "from": old, "to": new})
        if self._on_change is not None:
            self._on_change(self, old, new)


class _Listener(pybreaker.CircuitBreakerListener):
    def __init__(self, breaker: Breaker) -> None:
        self._breaker = breaker

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self._breaker._changed(old_state.name if old_state else "", new_state.name)
