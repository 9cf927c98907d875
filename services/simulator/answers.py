"""Deterministic answers: the reply is a pure function of the conversation,
the request's seed and the model, never of the provider.

Two providers serving the same model therefore give the same text for the same
request, which is what lets failover and stream-continuation tests compare a
resumed answer with the uninterrupted one. (Lengths come from each provider's
min/max_output_tokens, which the default config keeps equal.)
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from services.simulator.protocol import ChatMessage

# A small fixed vocabulary on the suite's own theme, so that generated text
# reads like English in demos and logs, and nobody mistakes it for a real model.
_ADJECTIVES = (
    "quiet",
    "bounded",
    "stale",
    "fresh",
    "patient",
    "eager",
    "steady",
    "careful",
    "remote",
    "local",
    "brief",
    "slow",
    "fast",
    "healthy",
    "degraded",
    "warm",
)
_NOUNS = (
    "gateway",
    "cache",
    "stream",
    "request",
    "provider",
    "model",
    "token",
    "budget",
    "deadline",
    "replica",
    "queue",
    "breaker",
    "answer",
    "tenant",
    "ledger",
    "signal",
)
_VERBS = (
    "checks",
    "carries",
    "follows",
    "protects",
    "returns",
    "measures",
    "retries",
    "records",
    "serves",
    "watches",
    "trims",
    "routes",
    "holds",
    "sends",
    "waits for",
)
_PREPOSITIONS = ("before", "after", "behind", "across", "within", "beside", "under")
_ADVERBS = ("Meanwhile", "Eventually", "Often", "Still", "Later", "Usually", "Now")

# Sentence shapes; `{x}` slots draw from the lists above, other words are literal.
_TEMPLATES = (
    "the {adj} {noun} {verb} the {noun} {prep} the {noun} .",
    "{adverb} , the {noun} {verb} a {adj} {noun} .",
    "a {adj} {noun} {verb} every {noun} , and the {noun} {verb} it .",
    "the {noun} {verb} the {adj} {noun} when the {noun} is {adj} .",
    "{adverb} every {noun} {verb} its own {noun} {prep} the {adj} {noun} .",
)
_SLOTS = {
    "{adj}": _ADJECTIVES,
    "{noun}": _NOUNS,
    "{verb}": _VERBS,
    "{prep}": _PREPOSITIONS,
    "{adverb}": _ADVERBS,
}


@dataclass(frozen=True)
class Reply:
    """The tokens to send and why they stop."""

    tokens: tuple[str, ...]
    finish_reason: str  # "stop" or "length"

    @property
    def text(self) -> str:
        return "".join(self.tokens)


def plan_reply(
    messages: Sequence[ChatMessage],
    *,
    seed: int | None,
    model: str,
    min_tokens: int,
    max_tokens: int,
    limit: int | None,
) -> Reply:
    """The reply to a chat request, capped at `limit` tokens (the request's max_tokens).

    A trailing assistant message is a prefill: the caller wants that exact text
    continued. When the full answer to the rest of the conversation begins with
    the prefill, only the remainder is returned, so prefill + reply equals the
    answer an uninterrupted request would have got; otherwise a deterministic
    continuation is made up.
    """
    prefill: str | None = None
    conversation = list(messages)
    if conversation and conversation[-1].role == "assistant":
        prefill = conversation.pop().content
    answer = full_answer(
        conversation, seed=seed, model=model, min_tokens=min_tokens, max_tokens=max_tokens
    )
    if prefill is None:
        tokens = answer
    else:
        remainder = _remainder_after(answer, prefill)
        if remainder is None:
            tokens = _generate(
                _digest(conversation, seed, model, prefill), min_tokens, max_tokens, first=False
            )
        else:
            tokens = remainder
    if limit is not None and len(tokens) > limit:
        return Reply(tuple(tokens[:limit]), "length")
    return Reply(tuple(tokens), "stop")


def full_answer(
    conversation: Sequence[ChatMessage],
    *,
    seed: int | None,
    model: str,
    min_tokens: int,
    max_tokens: int,
) -> list[str]:
    """The complete, uncapped answer to a conversation (no prefill)."""
    return _generate(_digest(conversation, seed, model, None), min_tokens, max_tokens, first=True)


def _digest(
    conversation: Sequence[ChatMessage], seed: int | None, model: str, prefill: str | None
) -> bytes:
    # sha256 of a canonical JSON form: stable across processes and Python
    # versions, unlike hash().
    material = json.dumps(
        {
            "messages": [[m.role, m.content] for m in conversation],
            "seed": seed,
            "model": model,
            "prefill": prefill,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).digest()


def _generate(digest: bytes, min_tokens: int, max_tokens: int, *, first: bool) -> list[str]:
    """Whole sentences until a seeded target length in [min_tokens, max_tokens] is reached.

    The target and the words come from separate halves of the digest, so the
    word sequence does not depend on the configured length bounds.
    """
    target = min_tokens + int.from_bytes(digest[16:24], "big") % (max_tokens - min_tokens + 1)
    words = _token_stream(random.Random(digest[:16]), first=first)
    tokens = [next(words) for _ in range(target)]
    # Finish the sentence in progress so the answer reads as complete...
    while tokens[-1] != "." and len(tokens) < max_tokens:
        tokens.append(next(words))
    if tokens[-1] != ".":
        # ...unless that would exceed max_tokens: end at the last full stop
        # that keeps the answer long enough, or close the sentence early.
        last_stop = max((i for i, t in enumerate(tokens) if t == "."), default=-1)
        if last_stop + 1 >= min_tokens:
            tokens = tokens[: last_stop + 1]
        else:
            tokens[-1] = "."
            if len(tokens) > 1 and _is_punctuation(tokens[-2]):
                tokens[-2] = " too"
    return tokens


def _token_stream(rng: random.Random, *, first: bool) -> Iterator[str]:
    """An endless run of sentences as tokens; the very first word has no leading space."""
    leading_space = not first
    while True:
        template = rng.choice(_TEMPLATES)
        capitalise = True
        for slot in template.split(" "):
            words = _SLOTS.get(slot)
            word = rng.choice(words) if words else slot
            for part in word.split(" "):
                if capitalise:
                    part = part[0].upper() + part[1:]
                    capitalise = False
                if _is_punctuation(part):
                    yield part
                else:
                    yield (" " if leading_space else "") + part
                leading_space = True


def _is_punctuation(token: str) -> bool:
    return token.strip() in {".", ","}


def _remainder_after(answer: list[str], prefill: str) -> list[str] | None:
    """The tokens of `answer` after `prefill`, or None when it is not a prefix.

    A prefill may end inside a token (a client that trimmed a space, say); the
    first returned token is then the rest of that token, so the texts still
    concatenate exactly.
    """
    text = "".join(answer)
    if not text.startswith(prefill):
        return None
    position = len(prefill)
    offset = 0
    for index, token in enumerate(answer):
        end = offset + len(token)
        if position < end:
            head = token[position - offset :]
            return [head, *answer[index + 1 :]]
        offset = end
    return []
