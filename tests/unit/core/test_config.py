"""One config: embedded defaults, a TOML file over them, environment over both."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core.config import load_raw_config, server_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("KEEL_"):
            monkeypatch.delenv(name)


def test_defaults_name_the_documented_ports() -> None:
    raw = load_raw_config()
    ports = {
        name: server_settings(raw, name).port
        for name in ("gateway", "domain", "inference", "storage")
    }
    assert ports == {"gateway": 50051, "domain": 50052, "inference": 50053, "storage": 50054}
    assert raw["simulator"]["port"] == 8088


def test_a_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "keel.toml"
    path.write_text("[gateway]\nport = 6000\n")
    raw = load_raw_config(path)
    assert raw["gateway"]["port"] == 6000
    assert raw["gateway"]["metrics_port"] == 9101


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keel.toml"
    path.write_text("[gateway]\nport = 6000\n")
    monkeypatch.setenv("KEEL_GATEWAY__PORT", "7000")
    monkeypatch.setenv("KEEL_STORAGE__DSN", "postgresql://db/keel")
    raw = load_raw_config(path)
    assert raw["gateway"]["port"] == 7000
    assert raw["storage"]["dsn"] == "postgresql://db/keel"


def test_environment_reaches_hyphenated_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_PROVIDERS__SIM_A__BASE_URL", "http://sim:8088/sim-a/v1")
    assert load_raw_config()["providers"]["sim-a"]["base_url"] == "http://sim:8088/sim-a/v1"


def test_client_variables_are_not_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_API_KEY", "keel_secret")
    assert "api_key" not in load_raw_config()


def test_peers_dial_the_configured_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEL_DOMAIN__ADDRESS", "domain:50052")
    monkeypatch.setenv("KEEL_DOMAIN__HOST", "0.0.0.0")
    settings = server_settings(load_raw_config(), "domain")
    assert settings.address == "domain:50052"
    assert settings.listen == "0.0.0.0:50052"
