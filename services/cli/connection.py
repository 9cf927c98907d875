"""How the CLI reaches the suite: the gateway's address and the caller's credentials."""

from __future__ import annotations

import os
from pathlib import Path

import grpc

from services.core.config import Raw, server_settings, state_dir
from services.gateway.admin_token import ensure_admin_token

API_KEY_ENV = "KEEL_API_KEY"
API_KEY_FILE = "api-key"


def gateway_address(raw: Raw, override: str | None = None) -> str:
    return override or server_settings(raw, "gateway").address


def api_key_path(raw: Raw) -> Path:
    return state_dir(raw) / API_KEY_FILE


def api_key(raw: Raw) -> str:
    """$KEEL_API_KEY, else the key `keel up` made for this machine."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if key:
        return key
    path = api_key_path(raw)
    if path.exists():
        return path.read_text().strip()
    raise SystemExit(f"no API key: set {API_KEY_ENV}, or run `keel up` (it makes one)")


def save_api_key(raw: Raw, secret: str) -> Path:
    path = api_key_path(raw)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return path


def bearer(secret: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {secret}"),)


def admin_metadata(raw: Raw) -> tuple[tuple[str, str], ...]:
    return bearer(os.environ.get("KEEL_ADMIN_TOKEN") or ensure_admin_token(raw))


def describe_error(error: grpc.aio.AioRpcError) -> str:
    """One line a person can act on: the code, the message and the useful details."""
    from services.core.errors import details_of, status_proto_from_rpc_error

    parts = [f"{error.code().name}: {error.details()}"]
    details = details_of(status_proto_from_rpc_error(error))
    retry = details.get("RetryInfo")
    if retry is not None:
        parts.append(f"retry after {retry.retry_delay.ToMilliseconds() / 1000:.1f} s")  # type: ignore[attr-defined]
    bad = details.get("BadRequest")
    if bad is not None:
        parts += [f"{v.field}: {v.description}" for v in bad.field_violations]  # type: ignore[attr-defined]
    return "; ".join(parts)
