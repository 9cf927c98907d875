"""python -m services.storage: run the storage service alone."""

from __future__ import annotations

import asyncio

from services.core.config import load_raw_config
from services.core.logging import configure_logging
from services.storage.app import serve


def main() -> None:
    raw = load_raw_config()
    configure_logging("storage")
    asyncio.run(serve(raw))


if __name__ == "__main__":
    main()
