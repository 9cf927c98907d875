"""What every provider adapter speaks: a request, the events of its stream, its failures.

Adapters stream every call (a whole answer is a stream read to its end): one
code path gives both unary and streaming calls a first-token timeout, an idle
timeout, mid-stream continuation and hedging on the first token.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ChatTurn:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ProviderRequest:
    """One call to one provider model. A trailing assistant turn is a prefill:
    the provider is asked to continue exactly that text."""

    model: str
    messages: tuple[ChatTurn, ...]
    max_tokens: int
    temperature: float | None = None
    request_id: str = ""

    def continued_after(self, text: str, tokens_sent: int) -> ProviderRequest:
        """The same request asking the model to continue `text`, already sent to the client."""
        messages = list(self.messages)
        if messages and messages[-1].role == "assistant":
            messages[-1] = ChatTurn("assistant", messages[-1].content + text)
        else:
            messages.append(ChatTurn("assistant", text))
        return ProviderRequest(
            model=self.model,
            messages=tuple(messages),
            max_tokens=max(1, self.max_tokens - tokens_sent),
            temperature=self.temperature,
            request_id=self.request_id,
        )

    def for_model(self, model: str) -> ProviderRequest:
        return ProviderRequest(model, self.messages, self.max_tokens, self.temperature,
                               self.request_id)


# Events of a provider stream.
@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Finished:
    reason: str  # "stop", "length" or "content_filter"


@dataclass(frozen=True)
class UsageReport:
    """Usage as the provider reported it; either figure may be None when not reported."""

    input_tokens: int | None
    output_tokens: int | None


StreamEvent = TextDelta | Finished | UsageReport


class ProviderStream(ABC):
    """An open answer stream. `batches()` ends normally only on a complete answer;
    a stream that ends early raises StreamCut."""

    headers: Mapping[str, str]

    @abstractmethod
    def batches(self) -> AsyncIterator[list[StreamEvent]]:
        """The events as they arrive: one list (never empty) for what each read
        of the response body completed, so a burst of events already received
        is handed over at once rather than awaited one by one."""

    async def events(self) -> AsyncIterator[StreamEvent]:
        """The same events one at a time."""
        async for batch in self.batches():
            for event in batch:
                yield event

    @abstractmethod
    def close(self) -> None:
        """Close the HTTP response at once (the provider sees the disconnect)."""


class ProviderAdapter(ABC):
    """One provider protocol over HTTP."""

    @abstractmethod
    async def open(self, request: ProviderRequest) -> ProviderStream:
        """Send the request and return its stream once the provider accepted it (2xx).

        Raises a ProviderFailure (classified) when it did not.
        """

    @abstractmethod
    async def close(self) -> None: ...

    def estimate_output_tokens(self, text: str, deltas: int) -> int:
        """Output tokens of a stream the provider did not report usage for."""
        return estimate_tokens(text)


def estimate_tokens(text: str) -> int:
    """About four characters a token for English text: used only when the provider
    did not report usage."""
    return math.ceil(len(text) / 4)


# OpenAI's chat format charges a few tokens per message for the role markers.
TOKENS_PER_MESSAGE = 3


def estimate_prompt_tokens(messages: Sequence[ChatTurn]) -> int:
    return sum(estimate_tokens(m.content) + TOKENS_PER_MESSAGE for m in messages)
