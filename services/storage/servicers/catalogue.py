"""keel.storage.v1.CatalogueService: catalogue items and user events."""

from __future__ import annotations

import grpc
from keel.storage.v1 import catalogue_pb2 as pb
from keel.storage.v1 import catalogue_pb2_grpc

from services.storage import validation
from services.storage.tables.catalogue import Catalogue
from services.storage.times import to_us

MAX_PER_CALL = 500
MAX_POPULAR = 100


def _batch(count: int, field: str) -> None:
    if count == 0:
        raise validation.invalid(field, "at least one")
    if count > MAX_PER_CALL:
        raise validation.invalid(field, f"at most {MAX_PER_CALL} per call")


class CatalogueServicer(catalogue_pb2_grpc.CatalogueServiceServicer):
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    async def PutCatalogueItems(
        self, request: pb.PutCatalogueItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.PutCatalogueItemsResponse:
        _batch(len(request.items), "items")
        for i, item in enumerate(request.items):
            validation.identifier(item.item_id, f"items[{i}].item_id")
            validation.text(item.title, f"items[{i}].title", max_length=500)
            validation.text(item.description, f"items[{i}].description", max_length=10_000)
            if len(item.tags) > 50:
                raise validation.invalid(f"items[{i}].tags", "at most 50")
        written = await self.catalogue.put_items(
            validation.tenant_id(request.tenant_id), list(request.items)
        )
        return pb.PutCatalogueItemsResponse(written_count=written)

    async def ListCatalogueItems(
        self, request: pb.ListCatalogueItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCatalogueItemsResponse:
        items, token = await self.catalogue.list_items(
            validation.tenant_id(request.tenant_id), request.page_size, request.page_token
        )
        return pb.ListCatalogueItemsResponse(items=items, next_page_token=token)

    async def RecordItemEvents(
        self, request: pb.RecordItemEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordItemEventsResponse:
        _batch(len(request.events), "events")
        for i, event in enumerate(request.events):
            validation.identifier(event.event_id, f"events[{i}].event_id")
            validation.identifier(event.user_id, f"events[{i}].user_id")
            validation.identifier(event.item_id, f"events[{i}].item_id")
            validation.identifier(event.kind, f"events[{i}].kind", max_length=64)
        created = await self.catalogue.record_events(
            validation.tenant_id(request.tenant_id), list(request.events)
        )
        return pb.RecordItemEventsResponse(created_count=created)

    async def ListItemEvents(
        self, request: pb.ListItemEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListItemEventsResponse:
        events, token = await self.catalogue.list_events(
            validation.tenant_id(request.tenant_id),
            validation.identifier(request.user_id, "user_id"),
            request.page_size,
            request.page_token,
        )
        return pb.ListItemEventsResponse(events=events, next_page_token=token)

    async def ListPopularItems(
        self, request: pb.ListPopularItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPopularItemsResponse:
        if not 0 <= request.limit <= MAX_POPULAR:
            raise validation.invalid("limit", f"must be 0..{MAX_POPULAR}")
        items = await self.catalogue.popular(
            validation.tenant_id(request.tenant_id),
            to_us(request.since_time) if request.HasField("since_time") else None,
            request.limit or 10,
        )
        return pb.ListPopularItemsResponse(items=items)
