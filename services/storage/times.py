"""Times as stored: integer microseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import time
from collections.abc import Callable

from google.protobuf import duration_pb2, timestamp_pb2

Clock = Callable[[], int]
DAY_US = 86_400 * 1_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def to_us(ts: timestamp_pb2.Timestamp) -> int:
    return int(ts.seconds) * 1_000_000 + int(ts.nanos) // 1000


def to_timestamp(us: int) -> timestamp_pb2.Timestamp:
    seconds, micros = divmod(us, 1_000_000)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=micros * 1000)


def duration_us(d: duration_pb2.Duration) -> int:
    return int(d.seconds) * 1_000_000 + int(d.nanos) // 1000
