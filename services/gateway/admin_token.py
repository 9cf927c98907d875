"""The operator's token for AdminService.

Configured as gateway.admin_token (KEEL_GATEWAY__ADMIN_TOKEN), or made at
first start and kept in <state_dir>/admin-token, readable by its owner only,
so the CLI on the same machine can use it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from services.core.config import Raw, state_dir

FILE_NAME = "admin-token"


def admin_token_path(raw: Raw) -> Path:
    return state_dir(raw) / FILE_NAME


def ensure_admin_token(raw: Raw) -> str:
    """The configured token, else the stored one, else a new one stored now."""
    configured = str(raw.get("gateway", {}).get("admin_token", ""))
    if configured:
        return configured
    path = admin_token_path(raw)
    if path.exists():
        return path.read_text().strip()
    token = "keel_admin_" + secrets.token_urlsafe(32)
    # O_EXCL: two processes racing to create it agree on the first one.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def matches(expected: str, presented: str) -> bool:
    return bool(presented) and hmac.compare_digest(expected.encode(), presented.encode())
