"""The provider simulator: an OpenAI-compatible chat-completions server with
fault injection, the fake model provider behind every resilience test,
benchmark and laptop demo of Keel.

Run it with `python -m services.simulator`, or in-process:

    runner, base_url = await start_simulator(SimulatorSettings.from_mapping(raw["simulator"]))
    ...  # providers at f"{base_url}/sim-a/v1", control API at f"{base_url}/_control"
    await stop_simulator(runner)
"""

from services.simulator.server import running_simulator, start_simulator, stop_simulator
from services.simulator.settings import ProviderSettings, SettingsError, SimulatorSettings
from services.simulator.tokens import count_tokens

__all__ = [
    "ProviderSettings",
    "SettingsError",
    "SimulatorSettings",
    "count_tokens",
    "running_simulator",
    "start_simulator",
    "stop_simulator",
]
