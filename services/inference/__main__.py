"""`python -m services.inference`: the inference service on its own."""

from __future__ import annotations

import asyncio

from services.core.config import load_raw_config
from services.core.logging import configure_logging
from services.inference.service import InferenceService


async def main() -> None:
    raw = load_raw_config()
    configure_logging("inference")
    await InferenceService(raw).run()


if __name__ == "__main__":
    asyncio.run(main())
