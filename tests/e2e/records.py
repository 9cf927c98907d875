"""Reading what storage recorded, straight from its internal API."""

from __future__ import annotations

import time

from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc

from tests.e2e.suite import Suite


def recorded_interactions(suite: Suite, tenant_id: str) -> list[ledger_pb2.Interaction]:
    stub = ledger_pb2_grpc.LedgerServiceStub(suite.channel("storage"))
    found: list[ledger_pb2.Interaction] = []
    token = ""
    while True:
        page = stub.ListInteractions(
            ledger_pb2.ListInteractionsRequest(
                tenant_id=tenant_id, page_size=500, page_token=token
            ),
            timeout=10,
        )
        found += page.interactions
        token = page.next_page_token
        if not token:
            return found


def wait_for_records(
    suite: Suite, tenant_id: str, expected: int, timeout_s: float = 30.0
) -> list[ledger_pb2.Interaction]:
    """The tenant's interactions once `expected` are there (or the timeout passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            found = recorded_interactions(suite, tenant_id)
        except Exception:  # noqa: BLE001 - storage may still be coming back
            found = []
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
