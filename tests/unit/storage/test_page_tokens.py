"""Opaque page tokens."""

from __future__ import annotations

import pytest

from services.core.errors import InvalidArgument
from services.storage import page_tokens


def test_a_token_carries_the_sort_key_of_the_last_row_back() -> None:
    token = page_tokens.encode("interactions/acme", [1_750_000_000_000_000, "int-9"])

    page = page_tokens.page("interactions/acme", 10, token, (int, str))

    assert page.after == [1_750_000_000_000_000, "int-9"]


def test_a_page_size_of_zero_selects_the_default() -> None:
    assert page_tokens.page("tenants", 0, "").size == page_tokens.DEFAULT_PAGE_SIZE


@pytest.mark.parametrize("size", [-1, page_tokens.MAX_PAGE_SIZE + 1])
def test_a_page_size_out_of_range_is_invalid_argument(size: int) -> None:
    with pytest.raises(InvalidArgument) as raised:
        page_tokens.page("tenants", size, "")

    assert raised.value.field_violations[0].field == "page_size"


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all!",
        page_tokens.encode("interactions/globex", [1, "x"]),  # another list's token
        page_tokens.encode("interactions/acme", ["1", "x"]),  # wrong types
        page_tokens.encode("interactions/acme", [1]),  # wrong shape
    ],
)
def test_a_token_not_made_by_this_list_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        page_tokens.page("interactions/acme", 10, token, (int, str))

    assert raised.value.field_violations[0].field == "page_token"
