"""The inference service over real gRPC, in front of the real simulator over real HTTP.

Both run in the test's event loop on loopback port 0; each test states the
configuration it needs (policy values small enough for a test to watch them
act) through `keel.start(...)`.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
import pytest
from keel.inference.v1 import inference_pb2, inference_pb2_grpc
from keel.v1 import generation_pb2

from services.core.config import load_raw_config
from services.inference.service import InferenceService
from services.simulator.control_client import SimulatorControl
from services.simulator.server import start_simulator, stop_simulator
from services.simulator.settings import ProviderSettings, SimulatorSettings

PROVIDERS = ("sim-a", "sim-b")
HELLO = [generation_pb2.Message(role="user", content="Tell me about circuit breakers.")]

# Fast, tail-free providers: a test that is about latency injects its own.
FAST = {
    "ttft_ms": 5,
    "token_ms": 1,
    "tail_probability": 0.0,
    "min_output_tokens": 40,
    "max_output_tokens": 60,
}

# Policy values every test starts from: no probes, no waiting on anything a
# test does not ask for.
BASE_POLICY = {
    "breaker_fail_max": 5,
    "breaker_reset_timeout_s": 30.0,
    "max_attempts_per_target": 2,
    "backoff_base_s": 0.01,
    "backoff_max_s": 0.05,
    "first_token_timeout_s": 5.0,
    "idle_timeout_s": 5.0,
    "probe_after_idle_s": 0,
    "health_interval_s": 60.0,
}


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass
class Keel:
    """One simulator plus the inference services a test started in front of it."""

    base_url: str
    control: SimulatorControl
    services: list[InferenceService] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def config(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        raw = load_raw_config()
        raw = merged(
            raw,
            {
                "inference": {"port": 0, "metrics_port": 0, "shutdown_grace_s": 0.5, **BASE_POLICY},
                "providers": {p: {"base_url": f"{self.base_url}/{p}/v1"} for p in PROVIDERS},
            },
        )
        return merged(raw, overrides or {})

    async def start(self, **overrides: Any) -> Client:
        """Start an inference service with these config overrides; return its client."""
        service = InferenceService(self.config(overrides))
        port = await service.start()
        self.services.append(service)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.channels.append(channel)
        await self.control.reset()
        return Client(
            service, channel, inference_pb2_grpc.InferenceServiceStub(channel), self.control
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()
        for service in self.services:
            await service.stop()


@dataclass
class Client:
    service: InferenceService
    channel: grpc.aio.Channel
    stub: inference_pb2_grpc.InferenceServiceStub
    control: SimulatorControl

    async def generate(
        self, *, deadline_s: float | None = 10.0, **fields: Any
    ) -> inference_pb2.GenerateResponse:
        fields.setdefault("messages", HELLO)
        response: inference_pb2.GenerateResponse = await self.stub.Generate(
            inference_pb2.GenerateRequest(**fields), timeout=deadline_s
        )
        return response

    async def stream(
        self, *, deadline_s: float | None = 10.0, **fields: Any
    ) -> tuple[list[str], inference_pb2.StreamGenerateResponse]:
        """The text deltas and the final (summary) message of a stream."""
        fields.setdefault("messages", HELLO)
        deltas: list[str] = []
        last = None
        async for message in self.stub.StreamGenerate(
            inference_pb2.StreamGenerateRequest(**fields), timeout=deadline_s
        ):
            if message.HasField("usage"):
                last = message
            else:
                deltas.append(message.text)
        assert last is not None, "the stream ended without its summary message"
        return deltas, last

    async def stats(self, provider: str) -> dict[str, Any]:
        return await self.control.stats(provider)

    async def requests(self, provider: str) -> list[dict[str, Any]]:
        return await self.control.recent_requests(provider)

    def target(self, provider: str, model: str = "sim-small"):  # type: ignore[no-untyped-def]
        from services.inference.settings import TargetRef

        return self.service.pool[TargetRef(provider, model)]


@pytest.fixture
async def keel() -> AsyncIterator[Keel]:
    settings = SimulatorSettings(
        host="127.0.0.1",
        port=0,
        random_seed=7,
        providers={p: ProviderSettings.from_mapping(p, FAST) for p in PROVIDERS},
    )
    runner, base_url = await start_simulator(settings)
    async with aiohttp.ClientSession() as session:
        suite = Keel(base_url, SimulatorControl(session, base_url))
        try:
            yield suite
        finally:
            await suite.close()
            await stop_simulator(runner)
