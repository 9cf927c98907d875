"""`keel status`: the health of every part, and every provider target's breaker."""

from __future__ import annotations

import grpc
from keel.inference.v1 import inference_pb2, inference_pb2_grpc

from services.cli.supervisor import PARTS, health_status, part_is_ready
from services.core.config import Raw, server_settings


async def status(raw: Raw) -> int:
    healthy = True
    for name in PARTS:
        if name == "simulator":
            sim = raw["simulator"]
            state = "SERVING" if await part_is_ready(raw, name) else "UNREACHABLE"
            where = f"http://{sim['host']}:{sim['port']}"
        else:
            where = server_settings(raw, name).address
            state = await health_status(where)
        healthy &= state == "SERVING"
        print(f"{name:<10} {where:<24} {state}")
    await provider_targets(raw)
    return 0 if healthy else 1


async def provider_targets(raw: Raw) -> None:
    address = server_settings(raw, "inference").address
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await inference_pb2_grpc.InferenceServiceStub(channel).GetProviderStatus(
                inference_pb2.GetProviderStatusRequest(), timeout=2
            )
        except grpc.aio.AioRpcError as error:
            print(f"provider targets: unavailable ({error.code().name})")
            return
    print("\nprovider   model        breaker    failures in-flight p50 ms  held back s")
    for t in reply.targets:
        breaker = inference_pb2.BreakerState.Name(t.breaker_state).removeprefix("BREAKER_STATE_")
        print(
            f"{t.provider:<10} {t.model:<12} {breaker:<10} {t.consecutive_failures:>8} "
            f"{t.in_flight:>9} {t.recent_latency_p50_ms:>6.0f} {t.held_back_seconds:>12.1f}"
        )
