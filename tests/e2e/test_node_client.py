"""A client in another language (Node.js, @grpc/grpc-js) calls the public API."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from tests.e2e.suite import ROOT, Suite

CLIENT = Path(__file__).parent / "clients" / "chat_client.js"


def test_node_client_generates_streams_and_reads_errors(suite: Suite) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "@grpc" / "grpc-js").exists():
        pytest.fail("node and `npm install` (make test runs it) are needed for this test")
    done = subprocess.run(
        [node, str(CLIENT), suite.address(), suite.api_key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["unaryText"] and seen["streamText"] == seen["unaryText"]
    assert seen["streamMessages"] > 2
    assert int(seen["finalUsage"]["cost_micros"]) > 0
    assert seen["finalProvenance"]["source"] == "ANSWER_SOURCE_MODEL"
    assert seen["unauthenticated"]["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert seen["unauthenticated"]["hasRichStatus"]
