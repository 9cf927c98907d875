"""Deadlines hold end to end, and a call that ends cancels the provider request behind it."""

from __future__ import annotations

import time

import grpc
import pytest
from keel.v1 import chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.suite import Suite

PROMPT = [generation_pb2.Message(role="user", content="Tell me about deadlines")]


def wait_until(predicate, timeout_s: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_300ms_deadline_against_a_2s_provider_ends_in_300ms_and_cancels_it(suite: Suite) -> None:
    for provider in ("sim-a", "sim-b"):
        suite.set_faults(provider, ttft_ms=2000)
    before = {p: suite.stats(p) for p in ("sim-a", "sim-b")}
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        stub.Generate(chat_pb2.GenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=0.3)
    elapsed = time.monotonic() - started
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # Inner hops fail first (each got less time), so the end comes just before 300 ms.
    assert 0.25 <= elapsed < 0.45, f"took {elapsed:.3f} s"

    def provider_request_cancelled() -> bool:
        stats = suite.stats("sim-a")
        return (
            stats["client_disconnects"] == before["sim-a"]["client_disconnects"] + 1
            and stats["in_flight"] == 0
        )

    # The provider saw its request closed well before its 2 s answer was due.
    assert wait_until(provider_request_cancelled, timeout_s=1.0), suite.stats("sim-a")
    assert time.monotonic() - started < 1.5
    # The attempt on sim-a could not finish in time, so no fallback was started.
    assert suite.stats("sim-b")["requests"] == before["sim-b"]["requests"]


def test_cancelled_stream_cancels_the_provider_stream(suite: Suite) -> None:
    suite.set_faults("sim-a", token_ms=50)
    before = suite.stats("sim-a")["client_disconnects"]
    stub = chat_pb2_grpc.ChatServiceStub(suite.channel())
    call = stub.StreamGenerate(
        chat_pb2.StreamGenerateRequest(messages=PROMPT), metadata=suite.auth(), timeout=30
    )
    received = [next(call) for _ in range(3)]
    assert all(m.text for m in received)
    call.cancel()
    assert wait_until(
        lambda: (
            suite.stats("sim-a")["client_disconnects"] == before + 1
            and suite.stats("sim-a")["open_streams"] == 0
        ),
        timeout_s=1.0,
    ), suite.stats("sim-a")
