"""keel.v1.UsageService: a tenant's own usage, summed by the database."""

from __future__ import annotations

import datetime as dt

import grpc
from google.protobuf import timestamp_pb2
from keel.storage.v1 import ledger_pb2, ledger_pb2_grpc
from keel.v1 import usage_pb2, usage_pb2_grpc

from services.gateway.api_keys import ApiKeyResolver
from services.gateway.validation import Violations


class UsageService(usage_pb2_grpc.UsageServiceServicer):
    def __init__(
        self, keys: ApiKeyResolver, ledger: ledger_pb2_grpc.LedgerServiceStub, currency: str
    ) -> None:
        self.keys = keys
        self.ledger = ledger
        self.currency = currency

    async def GetUsage(
        self, request: usage_pb2.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> usage_pb2.GetUsageResponse:
        caller = await self.keys.authenticate(context)
        now = dt.datetime.now(dt.UTC)
        start = timestamp_pb2.Timestamp()
        end = timestamp_pb2.Timestamp()
        if request.HasField("start_time"):
            start.CopyFrom(request.start_time)
        else:
            start.FromDatetime(now.replace(hour=0, minute=0, second=0, microsecond=0))
        if request.HasField("end_time"):
            end.CopyFrom(request.end_time)
        else:
            end.FromDatetime(now)
        if end.ToNanoseconds() < start.ToNanoseconds():
            violations = Violations()
            violations.add("end_time", "must not be before start_time")
            violations.raise_if_any()
        # The tenant comes from the key, never from the request.
        totals = await self.ledger.GetUsage(
            ledger_pb2.GetUsageRequest(
                tenant_id=caller.tenant.tenant_id, start_time=start, end_time=end
            )
        )
        return usage_pb2.GetUsageResponse(
            tenant_id=caller.tenant.tenant_id,
            start_time=start,
            end_time=end,
            request_count=totals.request_count,
            input_tokens=totals.input_tokens,
            output_tokens=totals.output_tokens,
            cost_micros=totals.cost_micros,
            currency=self.currency,
        )
