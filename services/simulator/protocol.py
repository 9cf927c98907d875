"""The OpenAI chat-completions wire format: parsing requests, building bodies.

Only the fields a gateway actually sends are understood; unknown request
fields are ignored, as lenient OpenAI-compatible servers (vLLM, Ollama) do, so
adapters written against real providers work here unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.simulator.tokens import count_tokens

# OpenAI's chat format charges a few tokens per message for the role markers.
TOKENS_PER_MESSAGE = 3


class ChatRequestError(ValueError):
    """The request body is not a valid chat completion request."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class ChatMessage:
    role: str
    # Text parts only: image or audio parts neither shape the answer nor cost
    # tokens in this simulator.
    content: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int | None
    seed: int | None
    stream: bool
    include_usage: bool


def parse_chat_request(body: object) -> ChatRequest:
    """Validate a decoded JSON body; raises ChatRequestError naming the field."""
    if not isinstance(body, Mapping):
        raise ChatRequestError("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ChatRequestError("'model' is required and must be a string", "model")
    messages = _parse_messages(body.get("messages"))
    # max_completion_tokens is the newer name; it wins when both are sent.
    max_tokens: int | None = None
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise ChatRequestError(f"'{name}' must be a positive integer", name)
        max_tokens = value
    seed = body.get("seed")
    if seed is not None and not _is_int(seed):
        raise ChatRequestError("'seed' must be an integer", "seed")
    temperature = body.get("temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float)
        or isinstance(temperature, bool)
        or not 0 <= temperature <= 2
    ):
        raise ChatRequestError("'temperature' must be a number between 0 and 2", "temperature")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ChatRequestError("'stream' must be a boolean", "stream")
    stream_options = body.get("stream_options") or {}
    if not isinstance(stream_options, Mapping):
        raise ChatRequestError("'stream_options' must be an object", "stream_options")
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=max_tokens,
        seed=seed,
        stream=stream,
        include_usage=bool(stream_options.get("include_usage", False)),
    )


def _parse_messages(raw: object) -> tuple[ChatMessage, ...]:
    if not isinstance(raw, list) or not raw:
        raise ChatRequestError("'messages' must be a non-empty array", "messages")
    messages = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(item, Mapping):
            raise ChatRequestError(f"{where} must be an object", where)
        role = item.get("role")
        if not isinstance(role, str) or not role:
            raise ChatRequestError(f"{where}.role must be a string", f"{where}.role")
        messages.append(ChatMessage(role=role, content=_content_text(item.get("content"), where)))
    return tuple(messages)


def _content_text(content: object, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, Mapping):
                raise ChatRequestError(f"{where}.content parts must be objects", where)
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "".join(texts)
    raise ChatRequestError(f"{where}.content must be a string or an array", f"{where}.content")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def count_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """Prompt tokens as usage reports them: content tokens plus per-message overhead."""
    return sum(count_tokens(m.content) + TOKENS_PER_MESSAGE for m in messages)


def error_body(
    message: str, error_type: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope; SDKs and our adapters classify on type and code."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def completion_body(
    *,
    completion_id: str,
    model: str,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage_body(prompt_tokens, completion_tokens),
    }


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@dataclass(frozen=True)
class ChunkFactory:
    """Builds the `chat.completion.chunk` objects of one stream (same id throughout)."""

    completion_id: str
    model: str
    created: int
    include_usage: bool

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            # OpenAI sends `usage: null` on every chunk but the last when
            # usage was requested; strict clients expect the key.
            chunk["usage"] = None
        return chunk

    def role(self) -> dict[str, Any]:
        return self._chunk(
            [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
        )

    def content(self, text: str) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])

    def finish(self, finish_reason: str) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": {}, "finish_reason": finish_reason}])

    def usage(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        chunk = self._chunk([])
        chunk["usage"] = usage_body(prompt_tokens, completion_tokens)
        return chunk
