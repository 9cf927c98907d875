"""Simulator settings, parsed from the `[simulator]` section of the suite config.

The config loader hands over plain dicts (TOML merged with environment
overrides), so values may arrive as strings; every field is coerced and
range-checked here, once, and the rest of the simulator trusts the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Provider names become URL path segments (`/<provider>/v1/...`); keeping them
# simple means no quoting anywhere, and `_control` can never be a provider.
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class SettingsError(ValueError):
    """A simulator setting is missing a sane value; the message names the key."""


@dataclass(frozen=True)
class ProviderSettings:
    """How one simulated provider behaves when no fault is injected."""

    name: str
    models: tuple[str, ...] = ("sim-small", "sim-large")
    ttft_ms: float = 120.0
    token_ms: float = 12.0
    tail_probability: float = 0.02
    tail_multiplier: float = 8.0
    rpm: int = 0
    tpm: int = 0
    api_key: str = ""
    min_output_tokens: int = 30
    max_output_tokens: int = 90

    @classmethod
    def from_mapping(cls, name: str, raw: Mapping[str, Any]) -> ProviderSettings:
        if not _PROVIDER_NAME.match(name):
            raise SettingsError(f"simulator.providers: invalid provider name {name!r}")
        where = f"simulator.providers.{name}"
        _warn_unknown(where, raw, _PROVIDER_KEYS)
        defaults = cls(name=name)
        models_raw = raw.get("models", defaults.models)
        if isinstance(models_raw, str):
            models_raw = [m.strip() for m in models_raw.split(",") if m.strip()]
        if not isinstance(models_raw, list | tuple) or not models_raw:
            raise SettingsError(f"{where}.models must be a non-empty list of model ids")
        models = tuple(str(m) for m in models_raw)
        settings = cls(
            name=name,
            models=models,
            ttft_ms=_number(raw, "ttft_ms", defaults.ttft_ms, where, minimum=0),
            token_ms=_number(raw, "token_ms", defaults.token_ms, where, minimum=0),
            tail_probability=_number(
                raw, "tail_probability", defaults.tail_probability, where, minimum=0, maximum=1
            ),
            tail_multiplier=_number(
                raw, "tail_multiplier", defaults.tail_multiplier, where, minimum=1
            ),
            rpm=_integer(raw, "rpm", defaults.rpm, where, minimum=0),
            tpm=_integer(raw, "tpm", defaults.tpm, where, minimum=0),
            api_key=str(raw.get("api_key", defaults.api_key) or ""),
            min_output_tokens=_integer(
                raw, "min_output_tokens", defaults.min_output_tokens, where, minimum=1
            ),
            max_output_tokens=_integer(
                raw, "max_output_tokens", defaults.max_output_tokens, where, minimum=1
            ),
        )
        if settings.min_output_tokens > settings.max_output_tokens:
            raise SettingsError(f"{where}.min_output_tokens must not exceed max_output_tokens")
        return settings

    def describe(self) -> dict[str, Any]:
        """Settings as JSON for the control API; the API key itself never leaves."""
        return {
            "name": self.name,
            "models": list(self.models),
            "ttft_ms": self.ttft_ms,
            "token_ms": self.token_ms,
            "tail_probability": self.tail_probability,
            "tail_multiplier": self.tail_multiplier,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "api_key_required": bool(self.api_key),
            "min_output_tokens": self.min_output_tokens,
            "max_output_tokens": self.max_output_tokens,
        }


_PROVIDER_KEYS = frozenset(
    {
        "models",
        "ttft_ms",
        "token_ms",
        "tail_probability",
        "tail_multiplier",
        "rpm",
        "tpm",
        "api_key",
        "min_output_tokens",
        "max_output_tokens",
    }
)
_SIMULATOR_KEYS = frozenset({"host", "port", "providers", "random_seed"})


def _default_providers() -> dict[str, ProviderSettings]:
    # Two providers serving the same models: the smallest setup in which
    # failover between providers can be demonstrated.
    return {name: ProviderSettings(name=name) for name in ("sim-a", "sim-b")}


@dataclass(frozen=True)
class SimulatorSettings:
    """The whole simulator: where it listens and which providers it plays."""

    host: str = "127.0.0.1"
    port: int = 8088
    providers: Mapping[str, ProviderSettings] = field(default_factory=_default_providers)
    # Seeds the random choices (injected error rolls, tail latency). None draws
    # from the OS, as a real provider would; a number makes a whole run
    # repeatable when requests arrive in the same order.
    random_seed: int | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> SimulatorSettings:
        """Parse `raw_config["simulator"]`; missing keys take the defaults above."""
        raw = raw or {}
        _warn_unknown("simulator", raw, _SIMULATOR_KEYS)
        defaults = cls()
        providers_raw = raw.get("providers")
        if providers_raw is None:
            providers: Mapping[str, ProviderSettings] = defaults.providers
        elif isinstance(providers_raw, Mapping):
            providers = {
                str(name): ProviderSettings.from_mapping(str(name), section or {})
                for name, section in providers_raw.items()
            }
        else:
            raise SettingsError("simulator.providers must be a table of provider sections")
        seed_raw = raw.get("random_seed")
        random_seed = (
            None if seed_raw in (None, "") else _integer(raw, "random_seed", 0, "simulator")
        )
        return cls(
            host=str(raw.get("host", defaults.host)),
            port=_integer(raw, "port", defaults.port, "simulator", minimum=0, maximum=65535),
            providers=providers,
            random_seed=random_seed,
        )


def _warn_unknown(where: str, raw: Mapping[str, Any], known: frozenset[str]) -> None:
    # A warning rather than an error: the config file is shared by every
    # service, and a typo here should be visible without stopping the suite.
    for key in raw:
        if key not in known:
            log.warning("ignoring unknown setting %s.%s", where, key)


def _number(
    raw: Mapping[str, Any],
    key: str,
    default: float,
    where: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    value = raw.get(key, default)
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}.{key} must be a number, got {value!r}") from None
    _check_range(number, key, where, minimum, maximum)
    return number


def _integer(
    raw: Mapping[str, Any],
    key: str,
    default: int,
    where: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = raw.get(key, default)
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise TypeError
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{where}.{key} must be an integer, got {value!r}") from None
    _check_range(number, key, where, minimum, maximum)
    return number


def _check_range(
    number: float, key: str, where: str, minimum: float | None, maximum: float | None
) -> None:
    if minimum is not None and number < minimum:
        raise SettingsError(f"{where}.{key} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise SettingsError(f"{where}.{key} must be <= {maximum}, got {number}")
