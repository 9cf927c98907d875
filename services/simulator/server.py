"""Start and stop the simulator inside a running event loop (tests, benchmarks, main)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from services.simulator.app import build_app
from services.simulator.settings import SimulatorSettings

log = logging.getLogger(__name__)

# How long a stop waits for streams in progress to finish before cancelling
# them; hung requests are released at once and do not count against it.
SHUTDOWN_GRACE_S = 2.0


async def start_simulator(
    settings: SimulatorSettings, *, shutdown_grace_s: float = SHUTDOWN_GRACE_S
) -> tuple[web.AppRunner, str]:
    """Serve the simulator on settings.host:settings.port (0 picks a free port).

    Returns the runner (pass it to stop_simulator) and the base URL actually
    bound, e.g. "http://127.0.0.1:43817"; providers live under `<base>/<provider>/v1`.
    """
    runner = web.AppRunner(
        build_app(settings),
        # Cancel a handler as soon as its client disconnects (off by default
        # since aiohttp 3.9): a hung or slow request must end within
        # milliseconds of the caller giving up, as a real provider's would.
        handler_cancellation=True,
        # Access logs for every request would dominate benchmark profiles;
        # the request log and stats endpoints answer the same questions.
        access_log=None,
        shutdown_timeout=shutdown_grace_s,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    host, port = runner.addresses[0][:2]
    return runner, f"http://{_url_host(host)}:{port}"


async def stop_simulator(runner: web.AppRunner) -> None:
    """Stop listening, release hung requests, let streams finish briefly, then close."""
    await runner.cleanup()


@asynccontextmanager
async def running_simulator(settings: SimulatorSettings) -> AsyncIterator[str]:
    """`async with running_simulator(settings) as base_url:` for tests and benchmarks."""
    runner, base_url = await start_simulator(settings)
    try:
        yield base_url
    finally:
        await stop_simulator(runner)


def _url_host(host: str) -> str:
    # A wildcard bind is reachable on loopback; IPv6 literals need brackets.
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
