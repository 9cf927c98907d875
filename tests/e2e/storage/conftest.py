"""The storage service as a real process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.core.health import wait_until_serving

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StorageProcess:
    """`python -m services.storage` with its own config, state folder and port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config = folder / "keel.toml"
        self.config.write_text(
            f'state_dir = "{folder / "state"}"\n'
            "[storage]\n"
            f"port = {self.port}\n"
            "metrics_port = 0\n"
            "shutdown_grace_s = 2.0\n"
        )
        self.db_path = folder / "state" / "storage.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        env |= {
            "KEEL_CONFIG": str(self.config),
            # The database is chosen by the env override the README names.
            "KEEL_STORAGE__DSN": f"sqlite:///{self.db_path}",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}",
        }
        self.starts += 1
        log = open(self.folder / f"storage-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.storage"], cwd=ROOT, env=env, stderr=log
        )
        log.close()

    async def wait_serving(self, within_s: float = 15) -> None:
        def alive() -> bool:
            return self.proc is not None and self.proc.poll() is None

        if not await wait_until_serving(self.address, within_s, alive=alive):
            assert alive(), "storage exited at start"
            pytest.fail(f"storage not SERVING within {within_s} s")

    def kill(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


@pytest.fixture
def storage_process(tmp_path: Path) -> Iterator[StorageProcess]:
    process = StorageProcess(tmp_path)
    yield process
    process.stop()
