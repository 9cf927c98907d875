"""Fault specs: what to break, parsed and validated from JSON.

The same JSON shape arrives two ways: `PUT /_control/providers/<p>/faults`
sets a provider's standing faults, and an `x-sim-faults` request header adds
faults for that one request, merged over the standing ones field by field.
Every field is optional; an unset field (None) defers to the layer below.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

DEFAULT_ERROR_STATUS = 500


class FaultSpecError(ValueError):
    """A fault spec is invalid; `field` names the offending key (None: the whole body)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FaultSpec:
    error_rate: float | None = None  # chance in [0, 1] of answering with `status`
    status: int | None = None  # HTTP status of injected errors (default 500)
    retry_after_s: float | None = None  # sent as Retry-After on injected errors
    ttft_ms: float | None = None  # replaces the provider's time to first token
    token_ms: float | None = None  # replaces the provider's per-token time
    hang: bool | None = None  # accept, then never answer until the client leaves
    cut_after_tokens: int | None = None  # drop the connection after N tokens
    refuse: bool | None = None  # answer 400 content_policy_violation

    @property
    def error_status(self) -> int:
        return self.status if self.status is not None else DEFAULT_ERROR_STATUS

    def merged_with(self, override: FaultSpec) -> FaultSpec:
        """This spec with every field that `override` sets replaced."""
        changes = {f.name: getattr(override, f.name) for f in fields(override)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        """The set fields only: what a person reading the control API wants to see."""
        return {k: v for k, v in asdict(self).items() if v is not None}


NO_FAULTS = FaultSpec()

_KNOWN = tuple(f.name for f in fields(FaultSpec))


def parse_faults(raw: object) -> FaultSpec:
    """Validate a decoded JSON object into a FaultSpec, naming the first bad field."""
    if not isinstance(raw, Mapping):
        raise FaultSpecError("faults must be a JSON object")
    for key in raw:
        if key not in _KNOWN:
            raise FaultSpecError(
                f"unknown fault field {key!r}; known fields: {', '.join(_KNOWN)}", str(key)
            )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if value is not None:  # an explicit null means "not set"
            values[key] = _VALIDATORS[key](key, value)
    # Asking for a status without a rate means "always fail with it".
    if "status" in values and "error_rate" not in values:
        values["error_rate"] = 1.0
    return FaultSpec(**values)


def parse_fault_header(header: str | None) -> FaultSpec:
    """Per-request faults from the `x-sim-faults` header (absent: no faults)."""
    if header is None or not header.strip():
        return NO_FAULTS
    try:
        raw = json.loads(header)
    except ValueError:
        raise FaultSpecError("x-sim-faults header is not valid JSON") from None
    return parse_faults(raw)


def _number(key: str, value: object, minimum: float, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultSpecError(f"{key} must be a number", key)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise FaultSpecError(f"{key} must be {bound}, got {value}", key)
    return float(value)


def _error_rate(key: str, value: object) -> float:
    return _number(key, value, 0.0, 1.0)


def _non_negative(key: str, value: object) -> float:
    return _number(key, value, 0.0)


def _status(key: str, value: object) -> int:
    # Only error statuses: a "fault" that answers 200 would be a different feature.
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise FaultSpecError(f"{key} must be an HTTP error status (400-599), got {value!r}", key)
    return value


def _count(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative integer, got {value!r}", key)
    return value


def _flag(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FaultSpecError(f"{key} must be true or false, got {value!r}", key)
    return value


_VALIDATORS = {
    "error_rate": _error_rate,
    "status": _status,
    "retry_after_s": _non_negative,
    "ttft_ms": _non_negative,
    "token_ms": _non_negative,
    "hang": _flag,
    "cut_after_tokens": _count,
    "refuse": _flag,
}
