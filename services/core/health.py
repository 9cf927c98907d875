"""Health: what a service reports, and how a caller watches a dependency.

A service reports SERVING or NOT_SERVING for "" and for each of its gRPC
services through the standard grpc.health.v1 service. Callers watch their
dependencies with Watch streams (not polling) so they degrade at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.core import metrics

log = logging.getLogger("keel.health")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthReporter:
    """The health a service reports for itself and each of its gRPC services."""

    def __init__(self, service: str, names: Iterable[str]) -> None:
        self.service = service
        self.servicer = health.aio.HealthServicer()
        self.names = ["", *names]
        self.serving = False

    async def begin(self) -> None:
        """NOT_SERVING for every name until the service says otherwise: the
        asyncio servicer would report "" as SERVING from its first moment."""
        for name in self.names:
            await self.servicer.set(name, NOT_SERVING)
        metrics.SERVING.labels(self.service).set(0)

    async def set_serving(self, serving: bool, why: str = "") -> None:
        if serving == self.serving:
            return
        self.serving = serving
        status = SERVING if serving else NOT_SERVING
        for name in self.names:
            await self.servicer.set(name, status)
        metrics.SERVING.labels(self.service).set(1 if serving else 0)
        log.warning(
            "health changed",
            extra={"status": "SERVING" if serving else "NOT_SERVING", "why": why},
        )

    async def shutting_down(self) -> None:
        """NOT_SERVING for good: load balancers stop sending before we drain."""
        self.serving = False
        metrics.SERVING.labels(self.service).set(0)
        await self.servicer.enter_graceful_shutdown()


class DependencyWatch:
    """Follows a dependency's health over a Watch stream, reconnecting as needed.

    `serving` is the latest status seen; it turns False as soon as the stream
    reports NOT_SERVING or breaks, so callers skip a dead dependency without
    spending a deadline on it. `known` stays False until the first answer or
    break: a caller that has heard nothing yet should try the call.
    """

    def __init__(
        self,
        channel: grpc.aio.Channel,
        name: str,
        service: str = "",
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.stub = health_pb2_grpc.HealthStub(channel)
        self.name = name
        self.service = service
        self.serving = False
        self.known = False
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name=f"watch-{self.name}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _set(self, serving: bool) -> None:
        self.known = True
        if serving != self.serving:
            self.serving = serving
            log.warning(
                "dependency health changed",
                extra={"dependency": self.name, "serving": serving},
            )
            if self.on_change:
                self.on_change(serving)

    async def _follow(self) -> None:
        backoff = 0.1
        while True:
            try:
                call = self.stub.Watch(
                    health_pb2.HealthCheckRequest(service=self.service), wait_for_ready=True
                )
                async for reply in call:
                    backoff = 0.1
                    self._set(reply.status == SERVING)
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError:
                pass
            self._set(False)
            # The next Watch waits for the channel to be ready (wait_for_ready),
            # so this pause only stops a hot loop on a peer that answers errors.
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 0.5)


async def wait_until_serving(
    address: str, within_s: float, *, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Poll a service's standard health check until it reports SERVING.

    False when `within_s` passes first, or as soon as `alive()` says the
    process behind it has gone.
    """
    deadline = time.monotonic() + within_s
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and alive():
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5)
                if reply.status == SERVING:
                    return True
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    return False
