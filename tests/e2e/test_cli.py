"""The `keel` command against a running suite, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.e2e.suite import ROOT, Suite


def keel(suite: Suite, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    if key:
        env["KEEL_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "--config", str(suite.config), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keel_chat_streams_the_answer_then_usage_and_cost(suite: Suite) -> None:
    done = keel(suite, "chat", "Tell me about circuit breakers")
    assert done.returncode == 0, done.stderr
    text, summary = done.stdout.rstrip("\n").rsplit("\n", 1)
    assert len(text.split()) > 5
    assert summary.startswith("— sim-small via sim-a")
    assert "tokens" in summary and "cost 0.0000" in summary and "USD" in summary


def test_keel_chat_reports_a_bad_key_clearly(suite: Suite) -> None:
    done = keel(suite, "chat", "hello", key="keel_wrong")
    assert done.returncode == 1
    assert "UNAUTHENTICATED" in done.stderr
    assert "Traceback" not in done.stderr


def test_keel_status_shows_every_part_serving_and_the_breakers(suite: Suite) -> None:
    done = keel(suite, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for part in ("simulator", "storage", "inference", "domain", "gateway"):
        assert any(line.startswith(part) and line.endswith("SERVING") for line in lines), part
    assert any(line.startswith("sim-a") and "CLOSED" in line for line in lines)


def test_keel_admin_creates_a_tenant_and_prints_its_key_once(suite: Suite) -> None:
    done = keel(suite, "admin", "create-tenant", "cli-tenant")
    assert done.returncode == 0, done.stderr
    done = keel(suite, "admin", "create-key", "cli-tenant", "--name", "laptop")
    assert done.returncode == 0, done.stderr
    secret = next(line for line in done.stdout.splitlines() if line.startswith("API key: "))[9:]
    chat = keel(suite, "chat", "hi", key=secret)
    assert chat.returncode == 0, chat.stderr
    listed = keel(suite, "admin", "list-keys", "cli-tenant")
    assert "laptop" in listed.stdout and secret not in listed.stdout
