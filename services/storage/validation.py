"""Checks on what callers send, each failing with INVALID_ARGUMENT and a field violation."""

from __future__ import annotations

import re

from services.core.errors import FieldViolation, InvalidArgument

TENANT_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
KEY_HASH = re.compile(r"[0-9a-f]{64}")


def invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument(
        f"{field}: {description}", field_violations=[FieldViolation(field, description)]
    )


def new_tenant_id(value: str, field: str = "tenant.tenant_id") -> str:
    if not TENANT_ID.fullmatch(value):
        raise invalid(field, "1..63 characters of a-z, 0-9 and '-', starting with a letter")
    return value


def tenant_id(value: str, field: str = "tenant_id") -> str:
    """A tenant id in a request: required. (Unknown ids find nothing.)"""
    if not value:
        raise invalid(field, "required")
    if len(value) > 63:
        raise invalid(field, "at most 63 characters")
    return value


def identifier(value: str, field: str, *, max_length: int = 128) -> str:
    if not value:
        raise invalid(field, "required")
    if len(value) > max_length:
        raise invalid(field, f"at most {max_length} characters")
    return value


def text(value: str, field: str, *, max_length: int) -> str:
    if len(value) > max_length:
        raise invalid(field, f"at most {max_length} characters")
    return value


def key_hash(value: str, field: str = "key_hash") -> str:
    if not KEY_HASH.fullmatch(value):
        raise invalid(field, "lower-case hex SHA-256 (64 characters)")
    return value


def not_negative(value: int, field: str) -> int:
    if value < 0:
        raise invalid(field, "must not be negative")
    return value
