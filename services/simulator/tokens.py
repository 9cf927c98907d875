"""The simulator's tokenizer: a token is a word with its leading whitespace,
or a punctuation mark.

It is deliberately simple and stable rather than a copy of any real BPE: the
point is that usage figures, rate-limit costs and streamed deltas all agree
with one another, and that `"".join(split_tokens(text)) == text` for any text,
so a streamed answer can be cut and continued at any token boundary.
"""

from __future__ import annotations

import re

# A word or one punctuation mark, each with the whitespace before it; trailing
# whitespace at the very end becomes a token of its own so nothing is lost.
_TOKEN = re.compile(r"\s*(?:[\w']+|[^\w\s])|\s+")


def split_tokens(text: str) -> list[str]:
    """Split text into tokens whose concatenation is exactly `text`."""
    return _TOKEN.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens `text` costs (usage and rate limits use this)."""
    return sum(1 for _ in _TOKEN.finditer(text))
