"""The item checks' fast paths (no regex, no loop) accept and refuse exactly what Zoho's patterns do."""

from __future__ import annotations

import re

import pytest

from zcrm_async.emails import DealLink, find_problems
from zcrm_async.validation import is_message_id, is_numeric_id

TRICKY = [
    "", "0", "7", "4876876000000333267", "1" * 30, "1" * 31, " 1", "1 ", "1\n", "+1", "-1", "1.0", "1e5", "0x1",
    "١٢٣", "²", "１２３", "12a", "abc", "ABC", "a" * 500, "a" * 501, "ab_c", "ab-c", "ß", "é", "abc\u200b", "\x00",
    "c6085fae06cbd7b75001fe5ab3ee14d6b46b63b4a52f7d0ff8ac7a2ab7ff53a8", "ab\u00b2", "AZaz09", "abc\x7f",
]  # fmt: skip


@pytest.mark.parametrize("text", TRICKY)
def test_a_numeric_id_is_what_zohos_pattern_says(text: str) -> None:
    assert is_numeric_id(text) == (re.fullmatch(r"[0-9]{1,30}", text) is not None)


@pytest.mark.parametrize("text", TRICKY)
def test_a_message_id_is_what_zohos_pattern_says(text: str) -> None:
    assert is_message_id(text) == (re.fullmatch(r"[A-Za-z0-9]{1,500}", text) is not None)


def link(**fields: object) -> DealLink:
    good: dict[str, object] = {"contact_id": "11", "message_id": "ab12", "deal_id": "22", "owner_id": "33"}
    return DealLink(**(good | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"contact_id": "١٢٣"}, "contact_id"), ({"deal_id": "２"}, "deal_id"), ({"owner_id": "1" * 31}, "owner_id"),
        ({"message_id": "é1"}, "message_id"), ({"message_id": "a" * 501}, "message_id"),
        ({"module": "Leads"}, "module"), ({"deal_name": "n" * 256}, "deal_name"),
        ({"previous_deal_id": "x"}, "previous_deal_id"), ({"contact_id": 1.5}, "contact_id"),
    ],
)  # fmt: skip
def test_every_bad_field_is_still_refused_by_name(bad: dict[str, object], field: str) -> None:
    (problem,) = find_problems([link(), link(**bad)])
    assert (problem.index, problem.field) == (1, field)


def test_good_links_pass_as_they_are_and_int_ids_become_digits() -> None:
    assert find_problems([link(), link(message_id="cd34", deal_name="n" * 255, previous_deal_id="44")]) == []
    assert find_problems([link(contact_id=12)]) == []
