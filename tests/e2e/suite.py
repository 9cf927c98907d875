"""The whole suite as real processes on free loopback ports, started the way a
user starts it (`keel up`), for end-to-end tests to call over real gRPC."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "domain", "inference", "storage")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def write_config(folder: Path, settings: dict[str, dict[str, Any]] | None = None) -> Path:
    """A config with every port free and a simulator with no latency;
    `settings` adds or replaces keys per table (e.g. {"gateway": {...}})."""
    ports = {name: free_port() for name in (*SERVICES, "simulator")}
    tables: dict[str, dict[str, Any]] = {}
    for name in SERVICES:
        tables[name] = {"port": ports[name], "metrics_port": free_port(), "shutdown_grace_s": 5.0}
    tables["simulator"] = {"port": ports["simulator"]}
    for provider in ("sim-a", "sim-b"):
        tables[f"providers.{provider}"] = {
            "base_url": f"http://127.0.0.1:{ports['simulator']}/{provider}/v1"
        }
        tables[f"simulator.providers.{provider}"] = {
            "ttft_ms": 0,
            "token_ms": 0,
            "tail_probability": 0.0,
        }
    for table, values in (settings or {}).items():
        tables.setdefault(table, {}).update(values)
    lines = [f"state_dir = {_toml_value(folder / 'state')}"]
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    path = folder / "keel.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Suite:
    config: Path
    state: Path
    process: subprocess.Popen[str]
    api_key: str
    pids: dict[str, int]
    raw: dict[str, Any]
    output: list[str] = field(default_factory=list)

    # -- addresses and credentials ------------------------------------------
    def address(self, service: str = "gateway") -> str:
        return f"127.0.0.1:{self.raw[service]['port']}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.raw['simulator']['port']}"

    @property
    def admin_token(self) -> str:
        return (self.state / "admin-token").read_text().strip()

    def channel(self, service: str = "gateway") -> grpc.Channel:
        return grpc.insecure_channel(self.address(service))

    def auth(self, key: str | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {key or self.api_key}"),)

    # -- the simulator's control API ----------------------------------------
    def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.simulator_url}/_control/providers/{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def set_faults(self, provider: str, **faults: Any) -> None:
        self._control("PUT", f"{provider}/faults", faults)

    def clear_faults(self) -> None:
        for provider in ("sim-a", "sim-b"):
            self._control("DELETE", f"{provider}/faults")

    def stats(self, provider: str) -> dict[str, Any]:
        return dict(self._control("GET", f"{provider}/stats"))

    def recent_requests(self, provider: str, limit: int = 10) -> list[dict[str, Any]]:
        reply = self._control("GET", f"{provider}/requests?limit={limit}")
        return list(reply["requests"] if isinstance(reply, dict) else reply)

    # -- the supervisor's output --------------------------------------------
    def wait_for_output(
        self, pattern: str, timeout_s: float = 30.0, start: int = 0
    ) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        compiled = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.output[start:]:
                found = compiled.search(line)
                if found:
                    return found
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(self.output[-30:]))

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            for pid in self.pids.values():
                _kill_quietly(pid)
            raise


def _kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_suite(
    folder: Path, settings: dict[str, dict[str, Any]] | None = None, timeout_s: float = 90.0
) -> Suite:
    import tomllib

    config = write_config(folder, settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "--config", str(config), "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=pump, daemon=True).start()
    raw = tomllib.loads(config.read_text())
    suite = Suite(config, folder / "state", process, "", {}, raw, output)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        key = next((ln for ln in output if ln.startswith("API key: ")), None)
        if key:
            suite.api_key = key.split(": ", 1)[1].strip()
            break
        if process.poll() is not None:
            raise RuntimeError("keel up exited:\n" + "".join(output))
        time.sleep(0.05)
    else:
        suite.stop()
        raise RuntimeError("keel up was not ready in time:\n" + "".join(output))
    for line in output:
        found = re.search(r"started (\w+) \(pid (\d+)\)", line)
        if found:
            suite.pids[found.group(1)] = int(found.group(2))
    return suite


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
