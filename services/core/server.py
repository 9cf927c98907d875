"""Bootstrap shared by every service: one grpc.aio server with the serving
interceptor, health, reflection and metrics, and a graceful shutdown.

Shutdown order on SIGTERM or SIGINT: health NOT_SERVING first (so balancers
and callers stop sending), then the server stops accepting and gives in-flight
calls `shutdown_grace_s` to finish, then the service's own resources close.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.core.channels import SERVER_OPTIONS
from services.core.config import ServerSettings
from services.core.health import HealthReporter
from services.core.metrics import serve_metrics
from services.core.server_interceptor import ServingInterceptor

log = logging.getLogger("keel.server")


class StartupError(Exception):
    """The service cannot start (for example, its port is taken)."""


class ServiceHost:
    def __init__(
        self,
        settings: ServerSettings,
        services: list[tuple[str, Callable[[Any, grpc.aio.Server], None], Any]],
        *,
        interceptor: ServingInterceptor | None = None,
    ) -> None:
        """`services`: (full service name, add_XServicer_to_server, servicer) each."""
        self.settings = settings
        self.server = grpc.aio.server(
            interceptors=[interceptor or ServingInterceptor()], options=SERVER_OPTIONS
        )
        names = [name for name, _, _ in services]
        self.health = HealthReporter(settings.name, names)
        for _, add, servicer in services:
            add(servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, self.server)
        reflection.enable_server_reflection(
            [*names, "grpc.health.v1.Health", reflection.SERVICE_NAME], self.server
        )
        self.port = 0

    async def start(self) -> int:
        await self.health.begin()
        try:
            self.port = self.server.add_insecure_port(self.settings.listen)
        except RuntimeError:
            self.port = 0
        if not self.port:
            raise StartupError(
                f"cannot listen on {self.settings.listen} (address in use, or not this host's)"
            )
        await self.server.start()
        serve_metrics(self.settings.metrics_port, self.settings.host)
        log.info(
            "listening",
            extra={
                "address": f"{self.settings.host}:{self.port}",
                "metrics_port": self.settings.metrics_port,
            },
        )
        return self.port

    async def stop(self) -> None:
        await self.health.shutting_down()
        await self.server.stop(self.settings.shutdown_grace_s)

    async def run(
        self,
        *,
        on_started: Callable[[], Awaitable[None]] | None = None,
        on_stopped: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
        except StartupError as error:
            log.error("start failed", extra={"error": str(error)})
            await self.server.stop(None)
            raise SystemExit(1) from None
        if on_started:
            await on_started()
        await stop.wait()
        log.info("shutting down", extra={"grace_s": self.settings.shutdown_grace_s})
        await self.stop()
        if on_stopped:
            await on_stopped()
        log.info("stopped")


def full_name(module: Any, service: str) -> str:
    """The fully qualified name of a service declared in a generated _pb2 module."""
    return str(module.DESCRIPTOR.services_by_name[service].full_name)
