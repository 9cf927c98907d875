"""Every answered request becomes one Interaction in storage, exactly once.

A record is first written to a durable local outbox, then delivered to
storage in the background. While storage is away records wait in the outbox
and are replayed when it is back; each carries its interaction_id as an
idempotency key, so a replay after a lost acknowledgement is stored once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

from google.protobuf import json_format, timestamp_pb2
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc
from keel.v1 import generation_pb2

from services.core.outbox import Outbox

log = logging.getLogger("keel.gateway.recorder")

DELIVERY_TIMEOUT_S = 5.0


class InteractionRecorder:
    def __init__(self, ledger: ledger_pb2_grpc.LedgerServiceStub, outbox: Outbox) -> None:
        self.ledger = ledger
        self.outbox = outbox
        self._delivery: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.outbox.open()
        self._delivery = asyncio.create_task(self.outbox.run(self._deliver), name="outbox-delivery")

    async def stop(self) -> None:
        if self._delivery:
            self._delivery.cancel()
            await asyncio.gather(self._delivery, return_exceptions=True)
        await self.outbox.close()

    async def _deliver(self, payload: bytes) -> None:
        await self.ledger.RecordInteraction(
            ledger_pb2.RecordInteractionRequest(
                interaction=ledger_pb2.Interaction.FromString(payload)
            ),
            timeout=DELIVERY_TIMEOUT_S,
        )

    async def record(self, interaction: ledger_pb2.Interaction) -> None:
        """Durably queue the record; storage receives it in the background."""
        await self.outbox.put(interaction.interaction_id, interaction.SerializeToString())


def new_interaction(
    *,
    tenant_id: str,
    request_id: str,
    task: str,
    request: object,
    requested_model: str,
    started_wall: float,
    started_monotonic: float,
) -> ledger_pb2.Interaction:
    """An interaction with everything known when the request arrives."""
    start = timestamp_pb2.Timestamp()
    start.FromNanoseconds(int(started_wall * 1e9))
    return ledger_pb2.Interaction(
        interaction_id=uuid.uuid4().hex,
        tenant_id=tenant_id,
        request_id=request_id,
        task=task,
        requested_model=requested_model,
        request_json=json.dumps(
            json_format.MessageToDict(request, preserving_proto_field_name=True),  # type: ignore[arg-type]
            separators=(",", ":"),
        ),
        start_time=start,
        latency_ms=int((time.monotonic() - started_monotonic) * 1000),
    )


def finish(
    interaction: ledger_pb2.Interaction,
    *,
    text: str,
    usage: generation_pb2.Usage | None,
    finish_reason: int,
    provenance: generation_pb2.Provenance | None,
    status_code: int,
    started_monotonic: float,
) -> ledger_pb2.Interaction:
    interaction.response_text = text
    if usage is not None:
        interaction.usage.CopyFrom(usage)
    interaction.finish_reason = finish_reason  # type: ignore[assignment]
    if provenance is not None:
        interaction.provenance.CopyFrom(provenance)
    interaction.status_code = status_code
    interaction.latency_ms = int((time.monotonic() - started_monotonic) * 1000)
    return interaction
