"""Fixtures: a real simulator on a loopback port, called over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from services.simulator.control_client import SimulatorControl
from services.simulator.server import start_simulator, stop_simulator
from services.simulator.settings import SimulatorSettings

# Latency is off unless a test is about latency, so the suite stays fast.
ZERO_LATENCY = {"ttft_ms": 0, "token_ms": 0, "tail_probability": 0}

USER_HELLO = [{"role": "user", "content": "Tell me about resilient gateways."}]


@dataclass
class Simulator:
    base_url: str
    session: aiohttp.ClientSession
    control: SimulatorControl

    def url(self, provider: str, path: str = "chat/completions") -> str:
        return f"{self.base_url}/{provider}/v1/{path}"

    async def chat(
        self,
        provider: str = "sim-a",
        *,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> tuple[aiohttp.ClientResponse, dict[str, Any]]:
        """POST a chat completion (defaults: sim-small, USER_HELLO); returns response + JSON."""
        payload = {"model": "sim-small", "messages": USER_HELLO, **body}
        async with self.session.post(self.url(provider), json=payload, headers=headers) as resp:
            return resp, await resp.json()

    async def stream(
        self, provider: str = "sim-a", *, headers: dict[str, str] | None = None, **body: Any
    ) -> tuple[aiohttp.ClientResponse, list[Any]]:
        """POST a streaming chat completion; returns response + decoded events ([DONE] as str)."""
        payload = {"model": "sim-small", "messages": USER_HELLO, "stream": True, **body}
        async with self.session.post(self.url(provider), json=payload, headers=headers) as resp:
            return resp, parse_events(await resp.text())


def parse_events(text: str) -> list[Any]:
    events: list[Any] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        assert block.startswith("data: "), block
        data = block[len("data: ") :]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def content_deltas(events: list[Any]) -> list[str]:
    return [
        e["choices"][0]["delta"]["content"]
        for e in events
        if isinstance(e, dict)
        and e["choices"]
        and "content" in e["choices"][0]["delta"]
        and "role" not in e["choices"][0]["delta"]
    ]


def settings_with(random_seed: int | None = None, **provider_overrides: Any) -> SimulatorSettings:
    """Two zero-latency providers (sim-a, sim-b), overrides applied to both."""
    section = {**ZERO_LATENCY, **provider_overrides}
    return SimulatorSettings.from_mapping(
        {
            "host": "127.0.0.1",
            "port": 0,
            "random_seed": random_seed,
            "providers": {"sim-a": section, "sim-b": section},
        }
    )


LaunchSimulator = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def launch_simulator() -> AsyncIterator[LaunchSimulator]:
    """Start a simulator with custom settings: `await launch_simulator(rpm=2)`."""
    runners = []
    session = aiohttp.ClientSession()

    async def launch(random_seed: int | None = None, **provider_overrides: Any) -> Simulator:
        runner, base_url = await start_simulator(settings_with(random_seed, **provider_overrides))
        runners.append(runner)
        return Simulator(base_url, session, SimulatorControl(session, base_url))

    yield launch
    await session.close()
    for runner in runners:
        await stop_simulator(runner)


@pytest.fixture
async def sim(launch_simulator: LaunchSimulator) -> Simulator:
    """A zero-latency simulator with default providers sim-a and sim-b."""
    return await launch_simulator()
