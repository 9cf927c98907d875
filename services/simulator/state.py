"""The simulator's mutable state: one entry per provider, plus shared randomness."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from aiohttp import web

from services.simulator.faults import NO_FAULTS, FaultSpec
from services.simulator.rate_limits import ProviderRateLimiter
from services.simulator.request_log import RequestLog
from services.simulator.settings import ProviderSettings, SimulatorSettings
from services.simulator.stats import ProviderStats


@dataclass
class ProviderState:
    settings: ProviderSettings
    rate_limiter: ProviderRateLimiter
    faults: FaultSpec = NO_FAULTS
    stats: ProviderStats = field(default_factory=ProviderStats)
    requests: RequestLog = field(default_factory=RequestLog)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> ProviderState:
        return cls(settings=settings, rate_limiter=ProviderRateLimiter(settings.rpm, settings.tpm))

    def reset(self) -> None:
        """Back to a fresh start: no faults, zero counters, empty log, full buckets."""
        self.faults = NO_FAULTS
        self.stats.reset()
        self.requests.clear()
        self.rate_limiter.reset()


class SimulatorState:
    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.providers = {
            name: ProviderState.from_settings(p) for name, p in settings.providers.items()
        }
        # One generator for every random choice, so a fixed random_seed
        # replays a whole run.
        self.rng = random.Random(settings.random_seed)
        # Set on shutdown: hanging requests are released instead of holding
        # the server open until its shutdown timeout.
        self.closing = asyncio.Event()


# Where the application keeps its SimulatorState (typed aiohttp app key).
SIMULATOR_STATE = web.AppKey("simulator_state", SimulatorState)
