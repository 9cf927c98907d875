"""docker-compose.yml cannot be started here (no Docker engine), so what can be
checked is checked: it parses, runs every service from this code base, and its
ports and addresses agree with the configuration the services read."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.config import _apply_env, load_raw_config, server_settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "domain", "inference", "storage")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def config_in(container: dict[str, Any]) -> dict[str, Any]:
    """The configuration a container's services would read."""
    raw = load_raw_config(ROOT / "services/core/defaults.toml")
    env = {k: str(v) for k, v in (container.get("environment") or {}).items()}
    _apply_env(raw, env)
    return raw


def containers_running(compose: dict[str, Any], module: str) -> list[str]:
    return [
        name
        for name, spec in compose["services"].items()
        if spec.get("command", [])[-1:] == [module]
    ]


def test_every_service_and_the_simulator_has_a_container(compose: dict[str, Any]) -> None:
    for module in [f"services.{s}" for s in (*SERVICES, "simulator")]:
        assert containers_running(compose, module), module
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_more_than_one_gateway_replica_with_postgres_and_redis(compose: dict[str, Any]) -> None:
    assert len(containers_running(compose, "services.gateway")) >= 2
    assert "postgres" in compose["services"] and "redis" in compose["services"]


def test_services_listen_on_all_interfaces_at_their_configured_ports(
    compose: dict[str, Any],
) -> None:
    for service in SERVICES:
        for name in containers_running(compose, f"services.{service}"):
            settings = server_settings(config_in(compose["services"][name]), service)
            assert settings.host == "0.0.0.0", name
            assert settings.port == load_raw_config()[service]["port"], name
            probe = compose["services"][name]["healthcheck"]["test"]
            assert probe[-1] == f"127.0.0.1:{settings.port}", name


def test_peers_are_dialled_by_container_name_and_port(compose: dict[str, Any]) -> None:
    for name in containers_running(compose, "services.gateway"):
        raw = config_in(compose["services"][name])
        for peer in ("domain", "storage"):
            host, port = server_settings(raw, peer).address.split(":")
            assert host in compose["services"], (name, peer)
            assert int(port) == load_raw_config()[peer]["port"]


def test_published_gateway_ports_reach_the_gateway_port(compose: dict[str, Any]) -> None:
    port = load_raw_config()["gateway"]["port"]
    for name in containers_running(compose, "services.gateway"):
        published = compose["services"][name]["ports"]
        assert any(p.endswith(f":{port}") for p in published), name


def test_storage_uses_the_postgres_container(compose: dict[str, Any]) -> None:
    (name,) = containers_running(compose, "services.storage")
    dsn = config_in(compose["services"][name])["storage"]["dsn"]
    assert dsn.startswith("postgresql://") and "@postgres:5432/" in dsn


def test_providers_point_at_the_simulator_container(compose: dict[str, Any]) -> None:
    (name,) = containers_running(compose, "services.inference")
    raw = config_in(compose["services"][name])
    sim_port = load_raw_config()["simulator"]["port"]
    for provider in ("sim-a", "sim-b"):
        assert (
            raw["providers"][provider]["base_url"] == f"http://simulator:{sim_port}/{provider}/v1"
        )


def test_replicas_share_one_admin_token(compose: dict[str, Any]) -> None:
    tokens = {
        config_in(compose["services"][name])["gateway"]["admin_token"]
        for name in containers_running(compose, "services.gateway")
    }
    assert len(tokens) == 1 and "" not in tokens
