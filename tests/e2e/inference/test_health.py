"""Health follows the providers: NOT_SERVING when no target can serve, SERVING when one recovers."""

from __future__ import annotations

import asyncio
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.inference.conftest import Keel

PROBING = {
    "probe_after_idle_s": 0.2,
    "health_interval_s": 0.1,
    "breaker_reset_timeout_s": 0.3,
    "max_attempts_per_target": 1,
    "breaker_fail_max": 2,
}


async def health(client) -> int:  # type: ignore[no-untyped-def]
    stub = health_pb2_grpc.HealthStub(client.channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=""))
    return int(reply.status)


async def eventually(check, want, within_s: float = 3.0) -> None:  # type: ignore[no-untyped-def]
    until = time.monotonic() + within_s
    while (got := await check()) != want:
        assert time.monotonic() < until, f"still {got}, wanted {want}"
        await asyncio.sleep(0.02)


async def test_not_serving_when_every_breaker_is_open_then_serving_after_recovery(
    keel: Keel,
) -> None:
    client = await keel.start(inference=PROBING)
    assert await health(client) == health_pb2.HealthCheckResponse.SERVING
    for provider in ("sim-a", "sim-b"):
        await keel.control.set_faults(provider, status=503)
    # Real traffic opens the sim-small breakers; probes find every other target down.
    for _ in range(3):
        try:
            await client.generate()
        except grpc.aio.AioRpcError:
            pass
    await eventually(lambda: health(client), health_pb2.HealthCheckResponse.NOT_SERVING)
    for provider in ("sim-a", "sim-b"):
        await keel.control.clear_faults(provider)
    # No traffic is sent: the background probes find the recovery.
    await eventually(lambda: health(client), health_pb2.HealthCheckResponse.SERVING)


async def test_recent_real_success_spares_the_probe(keel: Keel) -> None:
    client = await keel.start(inference={**PROBING, "probe_after_idle_s": 30.0})
    await keel.control.reset_stats("sim-a")
    await asyncio.sleep(0.3)  # several health rounds
    assert (await client.stats("sim-a"))["requests"] == 0
