"""Each tenant's catalogue of items and its users' events with them."""

from __future__ import annotations

import json

from keel.storage.v1 import catalogue_pb2

from services.storage import page_tokens
from services.storage.backends.base import Database, Row
from services.storage.times import Clock, now_us, to_timestamp, to_us

_ITEM_COLUMNS = "item_id, title, description, tags_json, update_time_us"
_EVENT_COLUMNS = "event_id, user_id, item_id, kind, event_time_us"


def item_from_row(row: Row) -> catalogue_pb2.CatalogueItem:
    item = catalogue_pb2.CatalogueItem(item_id=row["item_id"])
    if row["update_time_us"] is not None:  # None: an event's item not in the catalogue
        item.title = row["title"]
        item.description = row["description"]
        item.tags.extend(json.loads(row["tags_json"]))
        item.update_time.CopyFrom(to_timestamp(row["update_time_us"]))
    return item


def event_from_row(row: Row) -> catalogue_pb2.ItemEvent:
    return catalogue_pb2.ItemEvent(
        event_id=row["event_id"],
        user_id=row["user_id"],
        item_id=row["item_id"],
        kind=row["kind"],
        event_time=to_timestamp(row["event_time_us"]),
    )


class Catalogue:
    def __init__(self, db: Database, clock: Clock = now_us) -> None:
        self.db = db
        self.clock = clock

    async def put_items(self, tenant_id: str, items: list[catalogue_pb2.CatalogueItem]) -> int:
        now = self.clock()
        async with self.db.transaction() as conn:
            await conn.executemany(
                f"INSERT INTO catalogue_items (tenant_id, {_ITEM_COLUMNS})"
                " VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (tenant_id, item_id) DO UPDATE SET title = excluded.title,"
                " description = excluded.description, tags_json = excluded.tags_json,"
                " update_time_us = excluded.update_time_us",
                [
                    (tenant_id, i.item_id, i.title, i.description, json.dumps(list(i.tags)), now)
                    for i in items
                ],
            )
        return len(items)

    async def list_items(
        self, tenant_id: str, page_size: int, page_token: str
    ) -> tuple[list[catalogue_pb2.CatalogueItem], str]:
        scope = f"catalogue_items/{tenant_id}"
        page = page_tokens.page(scope, page_size, page_token)
        async with self.db.reading() as conn:
            rows = await conn.fetch(
                f"SELECT {_ITEM_COLUMNS} FROM catalogue_items WHERE tenant_id = $1"
                " AND item_id > $2 ORDER BY item_id LIMIT $3",
                tenant_id,
                "" if page.after is None else page.after[0],
                page.size + 1,
            )
        rows, token = page_tokens.next_token(scope, rows, page.size, lambda r: [r["item_id"]])
        return [item_from_row(r) for r in rows], token

    async def record_events(self, tenant_id: str, events: list[catalogue_pb2.ItemEvent]) -> int:
        """Stores events once per event_id; how many were new."""
        now = self.clock()
        created = 0
        async with self.db.transaction() as conn:
            for e in events:
                created += await conn.execute(
                    f"INSERT INTO item_events (tenant_id, {_EVENT_COLUMNS})"
                    " VALUES ($1, $2, $3, $4, $5, $6)"
                    " ON CONFLICT (tenant_id, event_id) DO NOTHING",
                    tenant_id,
                    e.event_id,
                    e.user_id,
                    e.item_id,
                    e.kind,
                    to_us(e.event_time) if e.HasField("event_time") else now,
                )
        return created

    async def list_events(
        self, tenant_id: str, user_id: str, page_size: int, page_token: str
    ) -> tuple[list[catalogue_pb2.ItemEvent], str]:
        """One user's events, newest first."""
        scope = f"item_events/{tenant_id}/{user_id}"
        page = page_tokens.page(scope, page_size, page_token, (int, str))
        async with self.db.reading() as conn:
            if page.after is None:
                rows = await conn.fetch(
                    f"SELECT {_EVENT_COLUMNS} FROM item_events WHERE tenant_id = $1"
                    " AND user_id = $2 ORDER BY event_time_us DESC, event_id DESC LIMIT $3",
                    tenant_id,
                    user_id,
                    page.size + 1,
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {_EVENT_COLUMNS} FROM item_events WHERE tenant_id = $1"
                    " AND user_id = $2 AND (event_time_us, event_id) < ($3, $4)"
                    " ORDER BY event_time_us DESC, event_id DESC LIMIT $5",
                    tenant_id,
                    user_id,
                    page.after[0],
                    page.after[1],
                    page.size + 1,
                )
        rows, token = page_tokens.next_token(
            scope, rows, page.size, lambda r: [r["event_time_us"], r["event_id"]]
        )
        return [event_from_row(r) for r in rows], token

    async def popular(
        self, tenant_id: str, since_us: int | None, limit: int
    ) -> list[catalogue_pb2.PopularItem]:
        """Items by event count since a time, most first; counted by the database."""
        async with self.db.reading() as conn:
            rows = await conn.fetch(
                "SELECT e.item_id AS item_id, COUNT(*) AS event_count, i.title AS title,"
                " i.description AS description, i.tags_json AS tags_json,"
                " i.update_time_us AS update_time_us"
                " FROM item_events e LEFT JOIN catalogue_items i"
                "   ON i.tenant_id = e.tenant_id AND i.item_id = e.item_id"
                " WHERE e.tenant_id = $1 AND e.event_time_us >= $2"
                " GROUP BY e.item_id, i.title, i.description, i.tags_json, i.update_time_us"
                " ORDER BY event_count DESC, e.item_id LIMIT $3",
                tenant_id,
                -(2**62) if since_us is None else since_us,
                limit,
            )
        return [
            catalogue_pb2.PopularItem(item=item_from_row(r), event_count=r["event_count"])
            for r in rows
        ]
