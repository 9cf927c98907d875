"""Checks on public requests, before any work: every problem is reported at
once as a BadRequest field violation under INVALID_ARGUMENT."""

from __future__ import annotations

import math
from collections.abc import Sequence

from keel.v1 import chat_pb2, generation_pb2

from services.core.errors import FieldViolation, InvalidArgument

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 1000
MAX_TOTAL_CHARS = 1_000_000
MAX_TOKENS_LIMIT = 32_768
MAX_REQUEST_ID = 128


class Violations:
    def __init__(self) -> None:
        self.found: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.found.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.found:
            summary = "; ".join(f"{v.field}: {v.description}" for v in self.found[:3])
            raise InvalidArgument(f"invalid request: {summary}", field_violations=self.found)


def check_messages(messages: Sequence[generation_pb2.Message], violations: Violations) -> None:
    if not messages:
        violations.add("messages", "at least one message is required")
    if len(messages) > MAX_MESSAGES:
        violations.add("messages", f"at most {MAX_MESSAGES} messages")
    total = 0
    for i, message in enumerate(messages):
        if message.role not in ROLES:
            violations.add(f"messages[{i}].role", f"must be one of {', '.join(ROLES)}")
        if not message.content.strip():
            violations.add(f"messages[{i}].content", "must not be empty")
        total += len(message.content)
    if total > MAX_TOTAL_CHARS:
        violations.add("messages", f"at most {MAX_TOTAL_CHARS} characters in all")


def check_generation_options(
    max_tokens: int, temperature: float | None, request_id: str, violations: Violations
) -> None:
    if not 0 <= max_tokens <= MAX_TOKENS_LIMIT:
        violations.add("max_tokens", f"must be between 0 and {MAX_TOKENS_LIMIT}")
    if temperature is not None and (math.isnan(temperature) or not 0.0 <= temperature <= 2.0):
        violations.add("temperature", "must be between 0 and 2")
    check_request_id(request_id, violations)


def check_request_id(request_id: str, violations: Violations) -> None:
    if len(request_id) > MAX_REQUEST_ID:
        violations.add("request_id", f"at most {MAX_REQUEST_ID} characters")
    elif request_id and not request_id.isprintable():
        violations.add("request_id", "must be printable text")


def check_chat(request: chat_pb2.GenerateRequest | chat_pb2.StreamGenerateRequest) -> None:
    """Validate a GenerateRequest or StreamGenerateRequest."""
    violations = Violations()
    check_messages(request.messages, violations)
    temperature = request.temperature if request.HasField("temperature") else None
    check_generation_options(request.max_tokens, temperature, request.request_id, violations)
    violations.raise_if_any()
