"""keel.storage.v1.LedgerService: interactions and the usage ledger."""

from __future__ import annotations

import grpc
from keel.storage.v1 import ledger_pb2 as pb
from keel.storage.v1 import ledger_pb2_grpc

from services.storage import validation
from services.storage.batcher import WriteBatcher
from services.storage.tables.interactions import Interactions
from services.storage.times import to_us


def _checked(item: pb.Interaction) -> pb.Interaction:
    validation.identifier(item.interaction_id, "interaction.interaction_id")
    validation.tenant_id(item.tenant_id, "interaction.tenant_id")
    validation.text(item.request_id, "interaction.request_id", max_length=128)
    validation.text(item.task, "interaction.task", max_length=64)
    validation.text(item.usage.currency, "interaction.usage.currency", max_length=8)
    for field in ("input_tokens", "output_tokens", "cost_micros"):
        validation.not_negative(getattr(item.usage, field), f"interaction.usage.{field}")
    validation.not_negative(item.latency_ms, "interaction.latency_ms")
    return item


class LedgerServicer(ledger_pb2_grpc.LedgerServiceServicer):
    def __init__(
        self, interactions: Interactions, writes: WriteBatcher[pb.Interaction, bool]
    ) -> None:
        self.interactions = interactions
        self.writes = writes

    async def RecordInteraction(
        self, request: pb.RecordInteractionRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordInteractionResponse:
        created = await self.writes.submit(_checked(request.interaction))
        return pb.RecordInteractionResponse(created=created)

    async def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageResponse:
        start = to_us(request.start_time) if request.HasField("start_time") else None
        end = to_us(request.end_time) if request.HasField("end_time") else None
        if start is not None and end is not None and end < start:
            raise validation.invalid("end_time", "must not be before start_time")
        return await self.interactions.usage(
            validation.tenant_id(request.tenant_id),
            start,
            end,
            include_days=request.include_days,
        )

    async def ListInteractions(
        self, request: pb.ListInteractionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInteractionsResponse:
        items, token = await self.interactions.list(
            validation.tenant_id(request.tenant_id), request.page_size, request.page_token
        )
        return pb.ListInteractionsResponse(interactions=items, next_page_token=token)
