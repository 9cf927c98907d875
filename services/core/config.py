"""One configuration for every service: embedded defaults, a TOML file, env overrides.

The same file drives all services; each service reads its own section (and
the sections of the peers it calls) from the merged mapping.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULTS = Path(__file__).with_name("defaults.toml")
ENV_PREFIX = "KEEL_"
CONFIG_ENV = "KEEL_CONFIG"

Raw = dict[str, Any]


def load_raw_config(path: str | os.PathLike[str] | None = None) -> Raw:
    """Return the merged configuration as plain data.

    Order, later wins: defaults.toml, the file (the `path` argument, else
    $KEEL_CONFIG, else ./keel.toml when present), KEEL_<SECTION>__<KEY> env.
    """
    with DEFAULTS.open("rb") as f:
        merged: Raw = tomllib.load(f)
    chosen = (
        path or os.environ.get(CONFIG_ENV) or ("keel.toml" if Path("keel.toml").exists() else None)
    )
    if chosen:
        with open(chosen, "rb") as f:
            _merge(merged, tomllib.load(f))
    _apply_env(merged, os.environ)
    return merged


def _merge(base: Raw, override: Raw) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_env(config: Raw, environ: os._Environ[str] | dict[str, str]) -> None:
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        path = name[len(ENV_PREFIX) :].split("__")
        # Only paths under a known top-level key: KEEL_API_KEY and friends,
        # which belong to clients, are not configuration of the services.
        if _find_key(config, path[0]) is None:
            continue
        node = config
        for segment in path[:-1]:
            key = _find_key(node, segment) or segment.lower()
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"{name}: {key} is not a table")
            node = child
        node[_find_key(node, path[-1]) or path[-1].lower()] = _parse_env_value(text)


def _find_key(table: Raw, segment: str) -> str | None:
    wanted = _norm(segment)
    return next((k for k in table if _norm(k) == wanted), None)


def state_dir(raw: Raw) -> Path:
    """The local state folder, created on first use."""
    folder = Path(raw.get("state_dir", ".keel")).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class ServerSettings:
    """Where a service listens, and how peers reach it."""

    name: str
    host: str
    port: int
    metrics_port: int
    shutdown_grace_s: float
    address: str

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"


def server_settings(raw: Raw, service: str) -> ServerSettings:
    section = raw[service]
    host = str(section.get("host", "127.0.0.1"))
    port = int(section["port"])
    # `address` is how peers dial this service; in Compose or Kubernetes it is
    # the service's DNS name, locally the listen address.
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
    return ServerSettings(
        name=service,
        host=host,
        port=port,
        metrics_port=int(section.get("metrics_port", 0)),
        shutdown_grace_s=float(section.get("shutdown_grace_s", 10.0)),
        address=str(section.get("address") or f"{connect_host}:{port}"),
    )


def deadline_margin_s(raw: Raw) -> float:
    return float(raw.get("deadlines", {}).get("margin_ms", 15)) / 1000.0
