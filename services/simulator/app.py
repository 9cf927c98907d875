"""The simulator's aiohttp application: every route in one visible table."""

from __future__ import annotations

from aiohttp import web

from services.simulator import control
from services.simulator.chat import handle_chat_completions
from services.simulator.models import handle_list_models
from services.simulator.settings import SimulatorSettings
from services.simulator.state import SIMULATOR_STATE, SimulatorState

# Prompts of long conversations exceed aiohttp's 1 MiB default body limit.
MAX_REQUEST_BYTES = 32 * 1024 * 1024


def build_app(settings: SimulatorSettings) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    state = SimulatorState(settings)
    app[SIMULATOR_STATE] = state

    async def release_hanging_requests(_: web.Application) -> None:
        state.closing.set()

    # on_shutdown runs before aiohttp waits for in-flight handlers, so hung
    # requests end at once instead of holding shutdown for its whole timeout.
    app.on_shutdown.append(release_hanging_requests)

    control_base = "/_control/providers/{provider}"
    app.add_routes(
        [
            web.get("/healthz", control.healthz),
            web.get("/_control/providers", control.list_providers),
            web.post("/_control/reset", control.reset_all),
            web.put(f"{control_base}/faults", control.put_faults),
            web.get(f"{control_base}/faults", control.get_faults),
            web.delete(f"{control_base}/faults", control.delete_faults),
            web.get(f"{control_base}/stats", control.get_stats),
            web.delete(f"{control_base}/stats", control.delete_stats),
            web.get(f"{control_base}/requests", control.get_requests),
            web.delete(f"{control_base}/requests", control.delete_requests),
            web.get("/{provider}/v1/models", handle_list_models),
            web.post("/{provider}/v1/chat/completions", handle_chat_completions),
        ]
    )
    return app
