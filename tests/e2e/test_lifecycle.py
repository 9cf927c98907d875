"""The suite as `keel up` runs it: default and maximum deadlines, a part killed
and restarted, and a graceful shutdown that drains in-flight calls.

These tests run on a suite of their own, since they kill and stop its parts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite, process_alive, start_suite

PROMPT = [generation_pb2.Message(role="user", content="Tell me about graceful shutdown")]
DEFAULT_DEADLINE_S = 1.5
MAX_DEADLINE_S = 2.0


@pytest.fixture(scope="module")
def own_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = start_suite(
        Path(tmp_path_factory.mktemp("lifecycle")),
        {"gateway": {"default_deadline_s": DEFAULT_DEADLINE_S, "max_deadline_s": MAX_DEADLINE_S}},
    )
    yield running
    running.stop()


def timed_deadline_failure(suite: Suite, timeout: float | None) -> float:
    suite.set_faults("sim-a", ttft_ms=8000)
    suite.set_faults("sim-b", ttft_ms=8000)
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    started = time.monotonic()
    try:
        with pytest.raises(grpc.RpcError) as caught:
            stub.Generate(
                chat_pb2.GenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=timeout
            )
    finally:
        suite.clear_faults()
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return time.monotonic() - started


def test_a_call_without_deadline_gets_the_gateways_default(own_suite: Suite) -> None:
    elapsed = timed_deadline_failure(own_suite, timeout=None)
    assert DEFAULT_DEADLINE_S - 0.05 <= elapsed < DEFAULT_DEADLINE_S + 0.3, elapsed


def test_a_deadline_beyond_the_maximum_is_capped(own_suite: Suite) -> None:
    elapsed = timed_deadline_failure(own_suite, timeout=60)
    assert MAX_DEADLINE_S - 0.05 <= elapsed < MAX_DEADLINE_S + 0.3, elapsed


def test_a_killed_service_is_restarted_and_serves_again(own_suite: Suite) -> None:
    mark = len(own_suite.output)
    os.kill(own_suite.pids["domain"], signal.SIGKILL)
    own_suite.wait_for_output(r"domain exited with code -9; restarting in", start=mark)
    own_suite.wait_for_output(r"domain is back \(SERVING\)", start=mark, timeout_s=30)
    reply = chat_pb2_grpc.ChatServiceStub(own_suite.channel()).Generate(
        chat_pb2.GenerateRequest(messages=PROMPT), metadata=own_suite.auth(), timeout=10
    )
    assert reply.text


def test_shutdown_drains_in_flight_streams_then_leaves_no_process(own_suite: Suite) -> None:
    own_suite.set_faults("sim-a", token_ms=25)
    stub = chat_pb2_grpc.ChatServiceStub(own_suite.channel())
    call = stub.StreamGenerate(
        chat_pb2.StreamGenerateRequest(messages=PROMPT), metadata=own_suite.auth(), timeout=30
    )
    first = next(call)
    assert first.text
    health = health_pb2_grpc.HealthStub(own_suite.channel())
    statuses: list[int] = []

    def watch() -> None:
        try:
            for reply in health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30):
                statuses.append(reply.status)
        except grpc.RpcError:
            pass

    threading.Thread(target=watch, daemon=True).start()
    time.sleep(0.2)
    own_suite.process.send_signal(signal.SIGINT)
    rest = list(call)  # the stream started before the signal finishes normally
    assert rest[-1].HasField("usage") and rest[-1].usage.output_tokens == len(rest)
    assert own_suite.process.wait(60) == 0
    assert health_pb2.HealthCheckResponse.NOT_SERVING in statuses
    own_suite.wait_for_output(r"all stopped")
    assert [name for name, pid in own_suite.pids.items() if process_alive(pid)] == []


def test_a_part_that_cannot_start_stops_keel_up_and_says_why(tmp_path: Path) -> None:
    import socket

    from tests.e2e.suite import ROOT, write_config

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = write_config(tmp_path, {"storage": {"port": port}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "services.cli", "--config", str(config), "up"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert done.returncode == 1
    assert (
        f"storage exited during start: start failed cannot listen on 127.0.0.1:{port}"
        in done.stdout
    )
    assert "all stopped" in done.stdout
