"""The inference service assembled: settings -> pool -> plan -> servicer, plus health."""

from __future__ import annotations

from services.core.config import Raw, server_settings
from services.core.server import ServiceHost, full_name
from services.inference.call_plan import CallPlan
from services.inference.provider_health import ProviderHealth
from services.inference.servicer import InferenceServicer
from services.inference.settings import InferenceSettings
from services.inference.targets import TargetPool
from services.inference.usage import PriceList

from keel.inference.v1 import inference_pb2, inference_pb2_grpc  # isort: skip


class InferenceService:
    def __init__(self, raw: Raw) -> None:
        self.settings = InferenceSettings.from_raw(raw)
        prices = PriceList(self.settings.prices)
        self.pool = TargetPool(self.settings, on_breaker_change=self._breaker_changed)
        self.plan = CallPlan(self.pool, self.settings.policy, prices)
        self.health = ProviderHealth(self.pool, self.settings.policy, prices, self._report)
        self.servicer = InferenceServicer(self.settings, self.plan, self.health)
        self.host = ServiceHost(
            server_settings(raw, "inference"),
            [(full_name(inference_pb2, "InferenceService"),
              inference_pb2_grpc.add_InferenceServiceServicer_to_server, self.servicer)],
        )

    def _breaker_changed(self, target: object) -> None:
        self.health.breaker_changed(target)  # type: ignore[arg-type]

    async def _report(self, serving: bool, why: str) -> None:
        await self.host.health.set_serving(serving, why)

    async def start(self) -> int:
        """Listen, then take the first health reading; returns the bound port."""
        port = await self.host.start()
        await self.health.start()
        return port

    async def stop(self) -> None:
        await self.health.stop()
        await self.host.stop()
        await self.pool.close()

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT, then shut down gracefully."""
        await self.host.run(on_started=self.health.start, on_stopped=self._closed)

    async def _closed(self) -> None:
        await self.health.stop()
        await self.pool.close()
