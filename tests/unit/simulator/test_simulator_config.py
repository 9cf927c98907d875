"""Settings parsing, the tokenizer, and starting/stopping the server."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from services.simulator.server import start_simulator, stop_simulator
from services.simulator.settings import ProviderSettings, SettingsError, SimulatorSettings
from services.simulator.tokens import count_tokens, split_tokens


def test_missing_simulator_section_gives_two_default_providers() -> None:
    settings = SimulatorSettings.from_mapping({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8088)
    assert list(settings.providers) == ["sim-a", "sim-b"]
    assert settings.providers["sim-a"] == ProviderSettings(name="sim-a")
    assert settings.providers["sim-a"].models == ("sim-small", "sim-large")


def test_provider_sections_fill_missing_keys_with_defaults() -> None:
    settings = SimulatorSettings.from_mapping(
        {"port": "9000", "providers": {"fast": {"ttft_ms": "5", "rpm": 60, "models": ["m1"]}}}
    )
    fast = settings.providers["fast"]
    assert settings.port == 9000
    assert (fast.ttft_ms, fast.rpm, fast.models) == (5.0, 60, ("m1",))
    assert (fast.token_ms, fast.min_output_tokens, fast.max_output_tokens) == (12.0, 30, 90)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"tail_probability": 2}, "tail_probability"),
        ({"rpm": -1}, "rpm"),
        ({"min_output_tokens": 50, "max_output_tokens": 10}, "min_output_tokens"),
        ({"models": []}, "models"),
        ({"token_ms": "fast"}, "token_ms"),
    ],
)
def test_invalid_provider_settings_are_rejected_naming_the_key(section: dict, key: str) -> None:
    with pytest.raises(SettingsError, match=key):
        SimulatorSettings.from_mapping({"providers": {"p": section}})


def test_tokens_are_words_with_their_space_or_punctuation_marks() -> None:
    assert split_tokens("Hello, world! It's fine.") == [
        "Hello",
        ",",
        " world",
        "!",
        " It's",
        " fine",
        ".",
    ]
    assert count_tokens("") == 0
    assert count_tokens("  two  words \n") == 3  # trailing whitespace is kept as a token


@pytest.mark.parametrize("text", ["", "a", " leading", "tabs\tand\nnewlines  ", "ünïcode, ok?"])
def test_tokens_concatenate_back_to_the_text(text: str) -> None:
    assert "".join(split_tokens(text)) == text


async def test_port_zero_binds_a_free_port_and_reports_it() -> None:
    settings = SimulatorSettings.from_mapping({"port": 0})
    runner, base_url = await start_simulator(settings)
    try:
        assert not base_url.endswith(":0")
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/healthz") as resp:
            assert resp.status == 200
    finally:
        await stop_simulator(runner)


async def test_stopping_releases_hung_requests_at_once() -> None:
    settings = SimulatorSettings.from_mapping({"port": 0})
    runner, base_url = await start_simulator(settings)
    async with aiohttp.ClientSession() as session:
        await session.put(f"{base_url}/_control/providers/sim-a/faults", json={"hang": True})
        payload = {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]}
        hung = asyncio.create_task(
            session.post(f"{base_url}/sim-a/v1/chat/completions", json=payload)
        )
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await stop_simulator(runner)
        assert time.perf_counter() - started < 1.0
        resp = await hung
        assert resp.status == 503
        resp.release()
