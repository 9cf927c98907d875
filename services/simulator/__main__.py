"""`python -m services.simulator [--host H] [--port P]`: serve until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal

from services.core.config import load_raw_config
from services.core.logging import configure_logging
from services.simulator.server import start_simulator, stop_simulator
from services.simulator.settings import SimulatorSettings

log = logging.getLogger("services.simulator")


async def serve(settings: SimulatorSettings) -> None:
    runner, base_url = await start_simulator(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    log.info(
        "simulator listening",
        extra={"base_url": base_url, "providers": sorted(settings.providers)},
    )
    try:
        await stopping.wait()
    finally:
        log.info("simulator stopping")
        await stop_simulator(runner)
    log.info("simulator stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.simulator", description=__doc__)
    parser.add_argument("--host", help="override simulator.host")
    parser.add_argument("--port", type=int, help="override simulator.port (0: any free port)")
    args = parser.parse_args(argv)
    configure_logging("simulator")
    settings = SimulatorSettings.from_mapping(load_raw_config().get("simulator"))
    if args.host is not None:
        settings = dataclasses.replace(settings, host=args.host)
    if args.port is not None:
        settings = dataclasses.replace(settings, port=args.port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
