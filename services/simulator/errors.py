"""Error responses: OpenAI's envelope for the provider API, a plain one for control."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from services.simulator.protocol import error_body


def openai_error(
    status: int,
    message: str,
    error_type: str,
    code: str | None,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    return web.json_response(
        error_body(message, error_type, code, param), status=status, headers=headers
    )


def control_error(status: int, message: str, field: str | None = None) -> web.Response:
    """A control-API error; `field` names the offending input so a caller can fix it."""
    return web.json_response({"error": {"message": message, "field": field}}, status=status)
