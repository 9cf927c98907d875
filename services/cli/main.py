"""The `keel` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from services.cli import admin as admin_cmd
from services.core.config import load_raw_config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="keel", description="Keel: a resilient gateway to AI models")
    p.add_argument("--config", help="TOML config file (default: $KEEL_CONFIG, else ./keel.toml)")
    p.add_argument("--address", help="gateway address (default: from the config)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole suite locally")
    chat = sub.add_parser("chat", help="stream an answer to a prompt")
    chat.add_argument("prompt")
    chat.add_argument("--model", default="")
    chat.add_argument("--max-tokens", type=int, default=0)
    chat.add_argument("--timeout", type=float, default=60.0, help="deadline in seconds")
    sub.add_parser("status", help="health of every part and provider breakers")
    admin = sub.add_parser("admin", help="manage tenants and API keys")
    admin_cmd.add_arguments(admin)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    raw = load_raw_config(args.config)
    if args.command == "up":
        from services.cli.up import up

        return asyncio.run(up(raw, args.config))
    if args.command == "chat":
        from services.cli.chat import chat

        return asyncio.run(
            chat(
                raw,
                args.prompt,
                model=args.model,
                max_tokens=args.max_tokens,
                timeout_s=args.timeout,
                address=args.address,
            )
        )
    if args.command == "status":
        from services.cli.status import status

        return asyncio.run(status(raw))
    return asyncio.run(admin_cmd.admin(raw, args))


def run() -> None:
    """Entry point of the `keel` script: a closed pipe (`keel status | head`) is not an error."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would complain again while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":
    run()
