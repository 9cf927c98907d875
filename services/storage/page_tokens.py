"""Opaque page tokens: where the previous page ended, and for which query.

A token is base64url of a small JSON document holding the query's scope
(the list and the tenant it was for) and the sort key of the last row
returned. A token used with another query, or tampered with, is rejected
with INVALID_ARGUMENT; it never widens a query, which stays scoped by the
tenant in the request whatever the token says.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from services.core.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    """A page request: how many rows, after which sort key (None: from the start)."""

    size: int
    after: list[Any] | None


def encode(scope: str, key: list[Any]) -> str:
    raw = json.dumps({"s": scope, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, scope: str, key_types: tuple[type, ...]) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = doc["s"] == scope and doc["k"]
        if (
            isinstance(key, list)
            and len(key) == len(key_types)
            and all(type(v) is t for v, t in zip(key, key_types, strict=True))
        ):
            return key
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise InvalidArgument(
        "page_token is not a token from this list",
        field_violations=[FieldViolation("page_token", "not a token returned by this list")],
    )


def page(scope: str, page_size: int, page_token: str, key_types: tuple[type, ...] = (str,)) -> Page:
    """The page a List request asks for; INVALID_ARGUMENT for a bad size or token.

    `key_types`: the types of the sort key's parts, checked on decoding.
    """
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"page_size must be 0..{MAX_PAGE_SIZE}",
            field_violations=[FieldViolation("page_size", f"must be 0..{MAX_PAGE_SIZE}")],
        )
    after = decode(page_token, scope, key_types) if page_token else None
    return Page(size=page_size or DEFAULT_PAGE_SIZE, after=after)


def next_token(scope: str, rows: list[Any], size: int, key: Any) -> tuple[list[Any], str]:
    """Trim rows fetched with LIMIT size+1 to the page; the token for the next one.

    `key(row)` is the row's sort key; the token is empty on the last page.
    """
    if len(rows) <= size:
        return rows, ""
    rows = rows[:size]
    return rows, encode(scope, list(key(rows[-1])))
