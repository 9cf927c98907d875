"""Pricing, token estimates, prefill continuation and settings parsing."""

from __future__ import annotations

import pytest

from services.core.config import load_raw_config
from services.inference.providers.base import ChatTurn, ProviderRequest, estimate_prompt_tokens
from services.inference.settings import InferenceSettings, Price, SettingsError, TargetRef
from services.inference.usage import PriceList


def test_cost_is_integer_micros_rounded_up_per_direction() -> None:
    prices = PriceList({"m": Price(input_per_mtok_micros=150000, output_per_mtok_micros=600000)})
    # 7 x 0.15 = 1.05 -> 2; 3 x 0.6 = 1.8 -> 2
    assert prices.cost_micros("m", 7, 3) == 4
    assert prices.cost_micros("m", 0, 0) == 0
    assert prices.cost_micros("m", 1_000_000, 1_000_000) == 750000


def test_unpriced_model_costs_zero() -> None:
    assert PriceList({}).cost_micros("unknown", 100, 100) == 0


def test_prompt_estimate_is_four_characters_a_token_plus_message_overhead() -> None:
    assert estimate_prompt_tokens([ChatTurn("user", "x" * 40)]) == 10 + 3


def test_continuation_appends_a_prefill_and_lowers_max_tokens() -> None:
    request = ProviderRequest("m", (ChatTurn("user", "hi"),), max_tokens=50)
    continued = request.continued_after("Hello wor", tokens_sent=3)
    assert continued.messages[-1] == ChatTurn("assistant", "Hello wor")
    assert continued.max_tokens == 47
    again = continued.continued_after("ld", tokens_sent=4)
    assert again.messages[-1] == ChatTurn("assistant", "Hello world")
    assert len(again.messages) == 2


def test_default_config_parses_with_policy_defaults() -> None:
    settings = InferenceSettings.from_raw(load_raw_config())
    assert settings.models["sim-small"].chain == (
        TargetRef("sim-a", "sim-small"), TargetRef("sim-b", "sim-small"))
    assert settings.models["sim-small"].hedge_after_s == 0
    assert settings.policy.breaker_fail_max == 5
    assert settings.prices["sim-small"].output_per_mtok_micros == 600000


def test_env_strings_are_coerced_and_models_override_timeouts() -> None:
    raw = load_raw_config()
    raw["inference"]["breaker_fail_max"] = "7"
    raw["models"]["sim-small"]["first_token_timeout_s"] = 1.5
    raw["models"]["sim-small"]["hedge_after_ms"] = 250
    settings = InferenceSettings.from_raw(raw)
    assert settings.policy.breaker_fail_max == 7
    assert settings.models["sim-small"].first_token_timeout_s == 1.5
    assert settings.models["sim-small"].hedge_after_s == 0.25


def test_a_chain_naming_an_unknown_provider_is_rejected() -> None:
    raw = load_raw_config()
    raw["models"]["sim-small"]["chain"] = [{"provider": "nowhere", "model": "x"}]
    with pytest.raises(SettingsError, match="unknown provider"):
        InferenceSettings.from_raw(raw)
