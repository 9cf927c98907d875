"""Structured logs: one JSON object per line on stderr.

Every record carries the service name and, inside a request, its request id,
tenant and trace id, taken from the request context.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from services.core import request_context

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        # Many records share a second: its text is made once.
        self._second = -1
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        entry: dict[str, Any] = {
            "ts": f"{self._second_text}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = request_context.current()
        if ctx is not None:
            entry["request_id"] = ctx.request_id
            if ctx.tenant_id:
                entry["tenant"] = ctx.tenant_id
            entry["trace_id"] = ctx.trace_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # Server-side only: stack traces go to our logs, never to clients.
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str | None = None) -> None:
    """JSON logs on stderr for `service`; level from KEEL_LOG_LEVEL (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("KEEL_LOG_LEVEL", "INFO")).upper())
    # What a record would otherwise collect on every call and the JSON lines
    # never show (the caller's file and line, thread and process names): the
    # "Optimization" section of the logging documentation.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's access log would repeat every request; our own lines say more.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
