"""The control API under `/_control`: faults, stats and the request log.

Plain JSON for tests, benchmarks and a person with curl; errors are
`{"error": {"message": ..., "field": ...}}` so a bad fault spec names its field.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from services.simulator.errors import control_error
from services.simulator.faults import NO_FAULTS, FaultSpecError, parse_faults
from services.simulator.request_log import CAPACITY
from services.simulator.state import SIMULATOR_STATE, ProviderState


def _provider(request: web.Request) -> ProviderState:
    name = request.match_info["provider"]
    provider = request.app[SIMULATOR_STATE].providers.get(name)
    if provider is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": {"message": f"unknown provider {name!r}", "field": None}}),
            content_type="application/json",
        )
    return provider


async def list_providers(request: web.Request) -> web.Response:
    state = request.app[SIMULATOR_STATE]
    return web.json_response(
        {
            "providers": [
                {**p.settings.describe(), "faults": p.faults.to_json()}
                for p in state.providers.values()
            ]
        }
    )


async def put_faults(request: web.Request) -> web.Response:
    provider = _provider(request)
    try:
        raw: Any = json.loads(await request.read() or b"{}")
    except ValueError:
        return control_error(400, "body is not valid JSON")
    try:
        provider.faults = parse_faults(raw)
    except FaultSpecError as exc:
        return control_error(400, str(exc), exc.field)
    return web.json_response(provider.faults.to_json())


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(_provider(request).faults.to_json())


async def delete_faults(request: web.Request) -> web.Response:
    provider = _provider(request)
    provider.faults = NO_FAULTS
    return web.json_response(provider.faults.to_json())


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(_provider(request).stats.to_json())


async def delete_stats(request: web.Request) -> web.Response:
    provider = _provider(request)
    provider.stats.reset()
    return web.json_response(provider.stats.to_json())


async def get_requests(request: web.Request) -> web.Response:
    provider = _provider(request)
    raw_limit = request.query.get("limit", str(CAPACITY))
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = -1
    if not 1 <= limit <= CAPACITY:
        return control_error(400, f"limit must be an integer from 1 to {CAPACITY}", "limit")
    return web.json_response({"requests": provider.requests.recent(limit)})


async def delete_requests(request: web.Request) -> web.Response:
    _provider(request).requests.clear()
    return web.json_response({"requests": []})


async def reset_all(request: web.Request) -> web.Response:
    """Every provider back to a fresh start, for suites that share one simulator."""
    for provider in request.app[SIMULATOR_STATE].providers.values():
        provider.reset()
    return web.json_response({"status": "reset"})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
