"""`python -m services.inference` as its own process: serves, reports health, shuts down."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import grpc
from keel.inference.v1 import inference_pb2, inference_pb2_grpc

from services.core.health import wait_until_serving
from tests.e2e.inference.conftest import HELLO, Keel

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_runs_as_a_process_and_drains_on_sigterm(keel: Keel) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'gen'}",
        "KEEL_INFERENCE__PORT": str(port),
        "KEEL_INFERENCE__METRICS_PORT": "0",
        "KEEL_PROVIDERS__SIM_A__BASE_URL": f"{keel.base_url}/sim-a/v1",
        "KEEL_PROVIDERS__SIM_B__BASE_URL": f"{keel.base_url}/sim-b/v1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.inference",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert await wait_until_serving(f"127.0.0.1:{port}", within_s=10)
            answer = await inference_pb2_grpc.InferenceServiceStub(channel).Generate(
                inference_pb2.GenerateRequest(messages=HELLO), timeout=5
            )
            assert answer.text and answer.provenance.provider == "sim-a"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert '"msg": "stopped"' in logs
    assert "Traceback" not in logs
