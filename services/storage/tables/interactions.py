"""Interactions, which are also the usage ledger (tokens and cost per request).

Writes are idempotent by (tenant_id, interaction_id): a replay is
acknowledged as not created and never counted twice. Usage is summed by the
database over the rows of a period; rows are never loaded into Python to
be added up.
"""

from __future__ import annotations

import functools

from keel.storage.v1 import ledger_pb2
from keel.v1 import generation_pb2

from services.storage import page_tokens
from services.storage.backends.base import Database, Row
from services.storage.times import DAY_US, Clock, now_us, to_timestamp, to_us

_COLUMNS = (
    "tenant_id", "interaction_id", "request_id", "task", "requested_model", "request_json",
    "response_text", "finish_reason", "answer_source", "provider", "model", "degraded",
    "degraded_reason", "attempts", "input_tokens", "output_tokens", "cost_micros", "currency",
    "status_code", "start_time_us", "latency_ms", "record_time_us",
)  # fmt: skip
_SELECT = ", ".join(_COLUMNS)
# Rows per INSERT statement: 22 parameters each stays far below both
# databases' limit on parameters per statement (32,766).
MAX_ROWS_PER_INSERT = 500


@functools.lru_cache(maxsize=64)
def _insert(rows: int) -> str:
    """One INSERT of `rows` rows that skips stored ones and names the new ones."""
    width = len(_COLUMNS)
    values = ", ".join(
        "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(rows)
    )
    return (
        f"INSERT INTO interactions ({_SELECT}) VALUES {values}"
        " ON CONFLICT (tenant_id, interaction_id) DO NOTHING"
        " RETURNING tenant_id, interaction_id"
    )


# Unset period bounds: far enough to hold every real time, inside int64.
_EARLIEST_US = -(2**62)
_LATEST_US = 2**62
_SUMS = (
    "COUNT(*) AS request_count,"
    " CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT) AS input_tokens,"
    " CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) AS output_tokens,"
    " CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) AS cost_micros"
)


def _values(item: ledger_pb2.Interaction, record_time_us: int) -> tuple[object, ...]:
    start_us = to_us(item.start_time) if item.HasField("start_time") else record_time_us
    return (
        item.tenant_id,
        item.interaction_id,
        item.request_id,
        item.task,
        item.requested_model,
        item.request_json,
        item.response_text,
        int(item.finish_reason),
        int(item.provenance.source),
        item.provenance.provider,
        item.provenance.model,
        bool(item.provenance.degraded),
        item.provenance.degraded_reason,
        item.provenance.attempts,
        item.usage.input_tokens,
        item.usage.output_tokens,
        item.usage.cost_micros,
        item.usage.currency,
        item.status_code,
        start_us,
        item.latency_ms,
        record_time_us,
    )


def interaction_from_row(row: Row) -> ledger_pb2.Interaction:
    return ledger_pb2.Interaction(
        interaction_id=row["interaction_id"],
        tenant_id=row["tenant_id"],
        request_id=row["request_id"],
        task=row["task"],
        requested_model=row["requested_model"],
        request_json=row["request_json"],
        response_text=row["response_text"],
        finish_reason=row["finish_reason"],
        provenance=generation_pb2.Provenance(
            source=row["answer_source"],
            provider=row["provider"],
            model=row["model"],
            degraded=bool(row["degraded"]),
            degraded_reason=row["degraded_reason"],
            attempts=row["attempts"],
        ),
        usage=generation_pb2.Usage(
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cost_micros=row["cost_micros"],
            currency=row["currency"],
        ),
        status_code=row["status_code"],
        start_time=to_timestamp(row["start_time_us"]),
        latency_ms=row["latency_ms"],
    )


class Interactions:
    def __init__(self, db: Database, clock: Clock = now_us) -> None:
        self.db = db
        self.clock = clock

    async def record(self, items: list[ledger_pb2.Interaction]) -> list[bool]:
        """Stores a batch in one transaction; for each item, whether it was new.

        An id already stored, or repeated within the batch, is not new: only
        its first occurrence in a batch can be.
        """
        record_time_us = self.clock()
        inserted: set[tuple[str, str]] = set()
        async with self.db.transaction() as conn:
            for start in range(0, len(items), MAX_ROWS_PER_INSERT):
                chunk = items[start : start + MAX_ROWS_PER_INSERT]
                args = [v for item in chunk for v in _values(item, record_time_us)]
                rows = await conn.fetch(_insert(len(chunk)), *args)
                inserted.update((row[0], row[1]) for row in rows)
        created = []
        for item in items:
            key = (item.tenant_id, item.interaction_id)
            created.append(key in inserted)
            inserted.discard(key)  # a repeat later in the batch is a replay
        return created

    async def usage(
        self,
        tenant_id: str,
        start_us: int | None,
        end_us: int | None,
        *,
        include_days: bool = False,
    ) -> ledger_pb2.GetUsageResponse:
        """Sums over [start, end) by start_time; unset bounds are open."""
        bounds = (
            tenant_id,
            _EARLIEST_US if start_us is None else start_us,
            _LATEST_US if end_us is None else end_us,
        )
        where = "WHERE tenant_id = $1 AND start_time_us >= $2 AND start_time_us < $3"
        async with self.db.reading() as conn:
            total = await conn.fetchrow(f"SELECT {_SUMS} FROM interactions {where}", *bounds)
            days = []
            if include_days:
                days = await conn.fetch(
                    f"SELECT start_time_us / {DAY_US} AS day, {_SUMS} FROM interactions {where}"
                    " GROUP BY 1 ORDER BY 1",
                    *bounds,
                )
        assert total is not None
        return ledger_pb2.GetUsageResponse(
            request_count=total["request_count"],
            input_tokens=total["input_tokens"],
            output_tokens=total["output_tokens"],
            cost_micros=total["cost_micros"],
            days=[
                ledger_pb2.DailyUsage(
                    day_start_time=to_timestamp(row["day"] * DAY_US),
                    request_count=row["request_count"],
                    input_tokens=row["input_tokens"],
                    output_tokens=row["output_tokens"],
                    cost_micros=row["cost_micros"],
                )
                for row in days
            ],
        )

    async def list(
        self, tenant_id: str, page_size: int, page_token: str
    ) -> tuple[list[ledger_pb2.Interaction], str]:
        """A tenant's interactions, newest first."""
        scope = f"interactions/{tenant_id}"
        page = page_tokens.page(scope, page_size, page_token, (int, str))
        async with self.db.reading() as conn:
            if page.after is None:
                rows = await conn.fetch(
                    f"SELECT {_SELECT} FROM interactions WHERE tenant_id = $1"
                    " ORDER BY start_time_us DESC, interaction_id DESC LIMIT $2",
                    tenant_id,
                    page.size + 1,
                )
            else:
                rows = await conn.fetch(
                    f"SELECT {_SELECT} FROM interactions WHERE tenant_id = $1"
                    " AND (start_time_us, interaction_id) < ($2, $3)"
                    " ORDER BY start_time_us DESC, interaction_id DESC LIMIT $4",
                    tenant_id,
                    page.after[0],
                    page.after[1],
                    page.size + 1,
                )
        rows, token = page_tokens.next_token(
            scope, rows, page.size, lambda r: [r["start_time_us"], r["interaction_id"]]
        )
        return [interaction_from_row(r) for r in rows], token

    async def delete_started_before(self, cutoff_us: int, *, chunk: int = 5000) -> int:
        """Retention: deletes every tenant's interactions that started before
        the cutoff, a chunk per transaction so writers are never held up long."""
        deleted = 0
        while True:
            async with self.db.transaction() as conn:
                n = await conn.execute(
                    "DELETE FROM interactions WHERE (tenant_id, interaction_id) IN"
                    " (SELECT tenant_id, interaction_id FROM interactions"
                    "  WHERE start_time_us < $1 LIMIT $2)",
                    cutoff_us,
                    chunk,
                )
            deleted += n
            if n < chunk:
                return deleted
