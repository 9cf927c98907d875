"""Inference settings: providers, fallback chains, prices and resilience policies.

Read once from the merged configuration (`load_raw_config()`); every policy
value has a default here, so a config file only states what it changes. The
values may arrive as strings (environment overrides), so each is coerced here
and the rest of the service trusts the result.

Where a key lives:
  [inference]            service-wide defaults (timeouts, retries, budget, breaker, health)
  [providers.<name>]     how to reach a provider and its own limits (rpm, tpm, concurrency)
  [models.<name>]        the fallback chain, plus per-model overrides (timeouts, hedging)
  [pricing.<model>]      prices per million tokens in micro-units of the currency
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from services.core.config import DEFAULTS as DEFAULTS_FILE
from services.core.config import Raw


class SettingsError(ValueError):
    """An inference setting is missing or wrong; the message names the key."""


# The policy keys of [inference] that a model may also override
# (models.<m>.first_token_timeout_s, ...). Their defaults, and why each was
# chosen, live in one place: the embedded services/core/defaults.toml.
POLICY_KEYS = (
    "first_token_timeout_s",
    "idle_timeout_s",
    "min_attempt_s",
    "max_attempts_per_target",
    "backoff_base_s",
    "backoff_max_s",
    "retry_budget_ratio",
    "retry_budget_window_s",
    "retry_budget_min_retries",
    "breaker_fail_max",
    "breaker_reset_timeout_s",
    "max_limit_wait_s",
    "max_hold_back_s",
    "health_interval_s",
    "probe_after_idle_s",
    "probe_timeout_s",
    "hedge_after_ms",
)


def _embedded_defaults() -> dict[str, Any]:
    with DEFAULTS_FILE.open("rb") as f:
        embedded = tomllib.load(f)
    inference = embedded["inference"]
    found = {key: inference[key] for key in POLICY_KEYS if key in inference}
    # hedging is off unless a model asks for it
    found.setdefault("hedge_after_ms", 0)
    missing = set(POLICY_KEYS) - set(found)
    if missing:
        raise SettingsError(f"defaults.toml lacks inference keys: {sorted(missing)}")
    return found


DEFAULTS: dict[str, Any] = _embedded_defaults()


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    kind: str  # "openai" or "anthropic"
    base_url: str
    api_key_env: str
    connect_timeout_s: float
    rpm: int  # 0: not limited by us
    tpm: int
    max_concurrency: int
    anthropic_version: str = "2023-06-01"

    def api_key(self) -> str:
        """The key from the environment variable the config names (never from the file)."""
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""


@dataclass(frozen=True)
class TargetRef:
    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class ModelSettings:
    name: str
    chain: tuple[TargetRef, ...]
    first_token_timeout_s: float
    idle_timeout_s: float
    hedge_after_s: float  # 0: off


@dataclass(frozen=True)
class Price:
    input_per_mtok_micros: int
    output_per_mtok_micros: int


@dataclass(frozen=True)
class PolicySettings:
    min_attempt_s: float
    max_attempts_per_target: int
    backoff_base_s: float
    backoff_max_s: float
    retry_budget_ratio: float
    retry_budget_window_s: float
    retry_budget_min_retries: int
    breaker_fail_max: int
    breaker_reset_timeout_s: float
    max_limit_wait_s: float
    max_hold_back_s: float
    health_interval_s: float
    probe_after_idle_s: float
    probe_timeout_s: float


@dataclass(frozen=True)
class InferenceSettings:
    default_model: str
    default_max_tokens: int
    currency: str
    providers: Mapping[str, ProviderSettings]
    models: Mapping[str, ModelSettings]
    prices: Mapping[str, Price]
    policy: PolicySettings
    targets: tuple[TargetRef, ...] = field(default=())

    @classmethod
    def from_raw(cls, raw: Raw) -> InferenceSettings:
        section = dict(raw.get("inference", {}))
        values = {key: section.get(key, default) for key, default in DEFAULTS.items()}
        policy = PolicySettings(
            min_attempt_s=_number(values, "min_attempt_s", minimum=0),
            max_attempts_per_target=_integer(values, "max_attempts_per_target", minimum=1),
            backoff_base_s=_number(values, "backoff_base_s", minimum=0),
            backoff_max_s=_number(values, "backoff_max_s", minimum=0),
            retry_budget_ratio=_number(values, "retry_budget_ratio", minimum=0),
            retry_budget_window_s=_number(values, "retry_budget_window_s", minimum=0.001),
            retry_budget_min_retries=_integer(values, "retry_budget_min_retries", minimum=0),
            breaker_fail_max=_integer(values, "breaker_fail_max", minimum=1),
            breaker_reset_timeout_s=_number(values, "breaker_reset_timeout_s", minimum=0),
            max_limit_wait_s=_number(values, "max_limit_wait_s", minimum=0),
            max_hold_back_s=_number(values, "max_hold_back_s", minimum=0),
            health_interval_s=_number(values, "health_interval_s", minimum=0.01),
            probe_after_idle_s=_number(values, "probe_after_idle_s", minimum=0),
            probe_timeout_s=_number(values, "probe_timeout_s", minimum=0.01),
        )
        providers = {
            str(name): _provider(str(name), body or {})
            for name, body in (raw.get("providers") or {}).items()
        }
        models = {
            str(name): _model(str(name), body or {}, values, providers)
            for name, body in (raw.get("models") or {}).items()
        }
        prices = {
            str(name): Price(
                input_per_mtok_micros=_integer(body, "input_per_mtok_micros", 0, f"pricing.{name}"),
                output_per_mtok_micros=_integer(
                    body, "output_per_mtok_micros", 0, f"pricing.{name}"
                ),
            )
            for name, body in (raw.get("pricing") or {}).items()
        }
        default_model = str(section.get("default_model", "") or "")
        if default_model and default_model not in models:
            raise SettingsError(f"inference.default_model {default_model!r} has no [models] entry")
        targets: list[TargetRef] = []
        for model in models.values():
            for ref in model.chain:
                if ref not in targets:
                    targets.append(ref)
        return cls(
            default_model=default_model,
            default_max_tokens=_integer(section, "default_max_tokens", 256, "inference", minimum=1),
            currency=str(raw.get("currency", "USD")),
            providers=providers,
            models=models,
            prices=prices,
            policy=policy,
            targets=tuple(targets),
        )


def _provider(name: str, body: Mapping[str, Any]) -> ProviderSettings:
    where = f"providers.{name}"
    kind = str(body.get("kind", "openai"))
    if kind not in ("openai", "anthropic"):
        raise SettingsError(f"{where}.kind must be 'openai' or 'anthropic', got {kind!r}")
    base_url = str(body.get("base_url", "") or "").rstrip("/")
    if not base_url:
        raise SettingsError(f"{where}.base_url is required")
    return ProviderSettings(
        name=name,
        kind=kind,
        base_url=base_url,
        api_key_env=str(body.get("api_key_env", "") or ""),
        connect_timeout_s=_number(body, "connect_timeout_s", 2.0, where, minimum=0.001),
        rpm=_integer(body, "rpm", 0, where, minimum=0),
        tpm=_integer(body, "tpm", 0, where, minimum=0),
        max_concurrency=_integer(body, "max_concurrency", 0, where, minimum=0),
        anthropic_version=str(body.get("anthropic_version", "2023-06-01")),
    )


def _model(
    name: str,
    body: Mapping[str, Any],
    defaults: Mapping[str, Any],
    providers: Mapping[str, ProviderSettings],
) -> ModelSettings:
    where = f"models.{name}"
    chain_raw = body.get("chain")
    if not isinstance(chain_raw, list) or not chain_raw:
        raise SettingsError(f"{where}.chain must be a non-empty list of {{provider, model}}")
    chain = []
    for index, item in enumerate(chain_raw):
        if not isinstance(item, Mapping) or "provider" not in item:
            raise SettingsError(f"{where}.chain[{index}] must be {{provider, model}}")
        provider = str(item["provider"])
        if provider not in providers:
            raise SettingsError(f"{where}.chain[{index}]: unknown provider {provider!r}")
        chain.append(TargetRef(provider, str(item.get("model") or name)))
    merged = {**defaults, **{k: v for k, v in body.items() if k in DEFAULTS}}
    return ModelSettings(
        name=name,
        chain=tuple(chain),
        first_token_timeout_s=_number(merged, "first_token_timeout_s", where=where, minimum=0.001),
        idle_timeout_s=_number(merged, "idle_timeout_s", where=where, minimum=0.001),
        hedge_after_s=_number(merged, "hedge_after_ms", where=where, minimum=0) / 1000.0,
    )


def _number(
    body: Mapping[str, Any],
    key: str,
    default: float | None = None,
    where: str = "inference",
    *,
    minimum: float | None = None,
) -> float:
    value = body.get(key, default)
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(f"{where}.{key} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise SettingsError(f"{where}.{key} must be >= {minimum}, got {number}")
    return number


def _integer(
    body: Mapping[str, Any],
    key: str,
    default: int | None = None,
    where: str = "inference",
    *,
    minimum: int | None = None,
) -> int:
    value = body.get(key, default)
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise TypeError
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SettingsError(f"{where}.{key} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise SettingsError(f"{where}.{key} must be >= {minimum}, got {number}")
    return number
