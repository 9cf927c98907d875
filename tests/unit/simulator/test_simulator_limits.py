"""Provider rate limits (RPM/TPM, OpenAI headers) and API-key authentication."""

from __future__ import annotations

import re

import pytest

from services.simulator.rate_limits import ProviderRateLimiter, format_reset

from .conftest import LaunchSimulator, Simulator


async def test_requests_over_rpm_get_429_with_retry_after(
    launch_simulator: LaunchSimulator,
) -> None:
    sim = await launch_simulator(rpm=2)
    first, _ = await sim.chat()
    second, _ = await sim.chat()
    refused, body = await sim.chat()

    assert (first.status, second.status, refused.status) == (200, 200, 429)
    assert body["error"]["type"] == "requests"
    assert body["error"]["code"] == "rate_limit_exceeded"
    # 2 per minute refill one request every 30 s.
    assert refused.headers["Retry-After"] == "30"
    assert 29_000 < int(refused.headers["retry-after-ms"]) <= 30_000


async def test_every_chat_response_reports_the_request_limit(
    launch_simulator: LaunchSimulator,
) -> None:
    sim = await launch_simulator(rpm=2)
    first, _ = await sim.chat()
    _, _ = await sim.chat()
    refused, _ = await sim.chat()
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"] == "30s"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Nearly a minute until both requests are back (a few ms have passed).
    assert re.fullmatch(r"1m0s|59\.\d+s", refused.headers["x-ratelimit-reset-requests"])
    assert "x-ratelimit-limit-tokens" not in first.headers


async def test_tokens_over_tpm_get_429_counting_prompt_plus_max_tokens(
    launch_simulator: LaunchSimulator,
) -> None:
    sim = await launch_simulator(tpm=100)
    messages = [{"role": "user", "content": "one two"}]  # 2 + 3 = 5 prompt tokens
    ok, _ = await sim.chat(messages=messages, max_tokens=55)
    refused, body = await sim.chat(messages=messages, max_tokens=55)

    assert ok.status == 200
    assert ok.headers["x-ratelimit-limit-tokens"] == "100"
    assert ok.headers["x-ratelimit-remaining-tokens"] == "40"
    assert refused.status == 429
    assert body["error"]["type"] == "tokens"
    # 20 more tokens at 100/min take 12 s.
    assert refused.headers["Retry-After"] == "12"


async def test_tpm_cost_defaults_to_max_output_tokens(launch_simulator: LaunchSimulator) -> None:
    sim = await launch_simulator(tpm=100, max_output_tokens=90)
    resp, _ = await sim.chat(messages=[{"role": "user", "content": "one two"}])
    assert resp.headers["x-ratelimit-remaining-tokens"] == "5"  # 100 - (5 + 90)


async def test_a_request_larger_than_tpm_gets_429_without_retry_after(
    launch_simulator: LaunchSimulator,
) -> None:
    sim = await launch_simulator(tpm=50)
    refused, body = await sim.chat(max_tokens=80)
    assert refused.status == 429
    assert body["error"]["type"] == "tokens"
    assert "Retry-After" not in refused.headers


async def test_unlimited_providers_send_no_rate_limit_headers(sim: Simulator) -> None:
    resp, _ = await sim.chat()
    assert not [h for h in resp.headers if h.lower().startswith("x-ratelimit")]


async def test_rate_limit_buckets_refill_continuously() -> None:
    now = [0.0]
    limiter = ProviderRateLimiter(rpm=60, tpm=0, clock=lambda: now[0])
    assert all(limiter.admit(0).allowed for _ in range(60))
    refused = limiter.admit(0)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.admit(0).allowed


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.12, "120ms"), (1, "1s"), (8.64, "8.64s"), (360, "6m0s"), (3723.5, "1h2m3.5s")],
)
def test_reset_durations_use_openais_format(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text


async def test_wrong_api_key_is_401_invalid_api_key(launch_simulator: LaunchSimulator) -> None:
    sim = await launch_simulator(api_key="sk-right")
    resp, body = await sim.chat(headers={"Authorization": "Bearer sk-wrong"})
    assert resp.status == 401
    assert body["error"]["code"] == "invalid_api_key"


async def test_missing_api_key_is_401(launch_simulator: LaunchSimulator) -> None:
    sim = await launch_simulator(api_key="sk-right")
    resp, _ = await sim.chat()
    assert resp.status == 401


async def test_right_api_key_is_served(launch_simulator: LaunchSimulator) -> None:
    sim = await launch_simulator(api_key="sk-right")
    resp, _ = await sim.chat(headers={"Authorization": "Bearer sk-right"})
    assert resp.status == 200
