"""`GET /<provider>/v1/models`: the models a provider serves, OpenAI's list shape."""

from __future__ import annotations

from aiohttp import web

from services.simulator.errors import openai_error
from services.simulator.state import SIMULATOR_STATE


async def handle_list_models(request: web.Request) -> web.Response:
    name = request.match_info["provider"]
    provider = request.app[SIMULATOR_STATE].providers.get(name)
    if provider is None:
        return openai_error(
            404, f"Unknown provider '{name}'.", "invalid_request_error", "provider_not_found"
        )
    return web.json_response(
        {
            "object": "list",
            "data": [
                {"id": model, "object": "model", "created": 0, "owned_by": name}
                for model in provider.settings.models
            ],
        }
    )
