"""Health drives degradation: when inference reports NOT_SERVING (every
breaker open), the domain answers a fast UNAVAILABLE with RetryInfo instead
of spending the caller's deadline on a dependency that cannot answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite, start_suite
from tests.e2e.test_errors import rich_status

PROMPT = [generation_pb2.Message(role="user", content="Are you there?")]


@pytest.fixture(scope="module")
def own_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = start_suite(
        Path(tmp_path_factory.mktemp("degradation")),
        {
            # One failure opens a breaker, which then stays open for the test;
            # no background probes, so nothing but traffic reaches a provider.
            "inference": {
                "breaker_fail_max": 1,
                "breaker_reset_timeout_s": 120.0,
                "probe_after_idle_s": 0.0,
                "health_interval_s": 0.1,
            }
        },
    )
    yield running
    running.stop()


def failure(suite: Suite, model: str = "") -> tuple[grpc.RpcError, float]:
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Generate(
            chat_pb2.GenerateRequest(messages=PROMPT, model=model),
            metadata=suite.auth(),
            timeout=10,
        )
    return caught.value, time.monotonic() - started


def reason(error: grpc.RpcError) -> str:
    return str(rich_status(error)["ErrorInfo"].reason)  # type: ignore[attr-defined]


def test_inference_not_serving_makes_chat_fail_fast_without_a_provider_call(
    own_suite: Suite,
) -> None:
    own_suite.set_faults("sim-a", status=503)
    own_suite.set_faults("sim-b", status=503)
    # Each model's chain fails once, which opens the breaker of every target.
    for model in ("sim-small", "sim-large"):
        assert failure(own_suite, model)[0].code() == grpc.StatusCode.UNAVAILABLE
    inference = health_pb2_grpc.HealthStub(own_suite.channel("inference"))
    deadline = time.monotonic() + 5
    while inference.Check(health_pb2.HealthCheckRequest(), timeout=2).status != (
        health_pb2.HealthCheckResponse.NOT_SERVING
    ):
        assert time.monotonic() < deadline, "inference never reported NOT_SERVING"
        time.sleep(0.05)

    sent = {p: own_suite.stats(p)["requests"] for p in ("sim-a", "sim-b")}
    deadline = time.monotonic() + 3
    while True:  # the domain hears of it over its Watch stream within moments
        error, elapsed = failure(own_suite)
        if reason(error) == "INFERENCE_NOT_SERVING" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert reason(error) == "INFERENCE_NOT_SERVING"
    assert "RetryInfo" in rich_status(error)
    assert elapsed < 0.1
    assert {p: own_suite.stats(p)["requests"] for p in ("sim-a", "sim-b")} == sent

    stream = chat_pb2_grpc.ChatServiceStub(own_suite.channel()).StreamGenerate(
        chat_pb2.StreamGenerateRequest(messages=PROMPT), metadata=own_suite.auth(), timeout=10
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(stream)
    assert reason(caught.value) == "INFERENCE_NOT_SERVING"
