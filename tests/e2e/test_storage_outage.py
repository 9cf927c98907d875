"""Storage killed mid-traffic: every answered request is still recorded, exactly once."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from keel.v1 import admin_pb2, admin_pb2_grpc, chat_pb2, chat_pb2_grpc, generation_pb2

from tests.e2e.records import wait_for_records
from tests.e2e.suite import Suite, start_suite

REQUESTS = 200
CLIENTS = 8
KILL_AFTER = 60


@pytest.fixture(scope="module")
def own_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = start_suite(Path(tmp_path_factory.mktemp("outage")))
    yield running
    running.stop()


def new_tenant_key(suite: Suite) -> tuple[str, str]:
    tenant_id = "t-" + uuid.uuid4().hex[:10]
    admin = admin_pb2_grpc.AdminServiceStub(suite.channel())
    token = suite.auth(suite.admin_token)
    admin.CreateTenant(
        admin_pb2.CreateTenantRequest(tenant_id=tenant_id), metadata=token, timeout=10
    )
    secret = admin.CreateApiKey(
        admin_pb2.CreateApiKeyRequest(tenant_id=tenant_id), metadata=token, timeout=10
    ).secret
    return tenant_id, secret


def test_storage_killed_during_200_chats_loses_and_duplicates_nothing(own_suite: Suite) -> None:
    tenant_id, secret = new_tenant_key(own_suite)
    stub = chat_pb2_grpc.ChatServiceStub(own_suite.channel())
    # Resolve the key once, so the gateway's key cache carries it through the outage.
    stub.Generate(
        chat_pb2.GenerateRequest(
            messages=[generation_pb2.Message(role="user", content="warm")], request_id="warm-up"
        ),
        metadata=own_suite.auth(secret),
        timeout=10,
    )
    answered: list[str] = ["warm-up"]
    failed: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    storage_pid = own_suite.pids["storage"]
    mark = len(own_suite.output)

    def client(worker: int) -> None:
        for i in range(worker, REQUESTS, CLIENTS):
            request_id = f"outage-{i}"
            try:
                stub.Generate(
                    chat_pb2.GenerateRequest(
                        messages=[generation_pb2.Message(role="user", content=f"question {i}")],
                        request_id=request_id,
                    ),
                    metadata=own_suite.auth(secret),
                    timeout=10,
                )
            except grpc.RpcError as error:
                with lock:
                    failed.append(f"{request_id}: {error.code().name}")
                continue
            with lock:
                answered.append(request_id)
                if len(answered) == KILL_AFTER and not killed.is_set():
                    os.kill(storage_pid, signal.SIGKILL)
                    killed.set()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert killed.is_set()
    own_suite.wait_for_output(r"storage exited with code -9", start=mark)
    # Storage was away, not the answers: every request was answered.
    assert failed == []
    assert len(answered) == REQUESTS + 1
    own_suite.wait_for_output(r"storage is back \(SERVING\)", start=mark, timeout_s=30)
    records = wait_for_records(own_suite, tenant_id, expected=len(answered))
    per_request = Counter(r.request_id for r in records)
    assert sorted(per_request) == sorted(answered)
    assert set(per_request.values()) == {1}, [k for k, v in per_request.items() if v > 1]
    assert all(r.usage.output_tokens > 0 and r.status_code == 0 for r in records)
