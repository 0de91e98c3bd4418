"""The COQL query builder: names checked, values quoted so that no value can leave its quotes.

Each hostile value is rendered, then read back by FakeZoho's COQL parser (a real one): the condition it parses
must be the one comparison that was built, holding the value exactly.
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

from zcrm_async.coql import Query, field, quote

# private on purpose: the fake's COQL parser, a unit of its own
from zcrm_async.testing._fake_coql_parser import Comparison, Group, parse

HOSTILE = [
    "O'Brien",
    "' or id is not null or Email = '",
    "\\",
    "ends with a backslash \\",
    "\\' or 1 = 1 --",
    "''",
    "line\nbreak",
    "caf\u00e9 \u2028 \u0000",
    ") or (Email is not null",
    "%",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_text_value_stays_one_value(value: str) -> None:
    query = Query("Contacts", ["Email"], where=field("Email").eq(value))
    parsed = parse(query.text(limit=200))
    assert parsed.where == Comparison("Email", "=", value)
    assert parsed.fields == ("Email",) and parsed.module == "Contacts" and parsed.limit == 200


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_lists_and_patterns_stay_values(value: str) -> None:
    where = field("Last_Name").in_([value, "x"]) | field("Email").like(f"%{value}%")
    parsed = parse(Query("Contacts", ["Email"], where=where).text(limit=5, offset=10))
    assert parsed.where == Group(
        "or", Comparison("Last_Name", "in", (value, "x")), Comparison("Email", "like", f"%{value}%")
    )
    assert (parsed.limit, parsed.offset) == (5, 10)


def test_every_pair_is_bracketed_and_the_key_is_added_last() -> None:
    where = field("Stage").ne("Closed Lost") & field("Amount").ge(100) & field("Owner").is_not_null()
    query = Query("Deals", ["Deal_Name", "Stage"], where=where, order_by=[("id", "asc")])
    text = query.text(limit=2000, offset=0, after_id="5843104000000400011")
    assert text == (
        "select Deal_Name, Stage from Deals where "
        "(((Stage != 'Closed Lost' and Amount >= 100) and Owner is not null) and id > 5843104000000400011) "
        "order by id asc limit 2000"
    )
    assert Query("Deals", ["Deal_Name"]).text(limit=10, offset=20) == (
        "select Deal_Name from Deals where id is not null limit 10 offset 20"
    )


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (True, "true"),
        (0, "0"),
        (-12, "-12"),
        (2.5, "2.5"),
        (decimal.Decimal("10.50"), "10.50"),
        (datetime.date(2026, 12, 7), "'2026-12-07'"),
        (datetime.datetime(2026, 12, 7, 9, 30, tzinfo=datetime.UTC), "'2026-12-07T09:30:00+00:00'"),
    ],
)
def test_values_other_than_text_are_literals(value: Any, literal: str) -> None:
    assert quote(value) == literal


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: field("Email; delete"), ValueError),
        (lambda: field("Email)"), ValueError),
        (lambda: field(""), ValueError),
        (lambda: field("1st"), ValueError),
        (lambda: field("a.b.c"), ValueError),
        (lambda: field("Email").eq(None), ValueError),  # type: ignore[arg-type]
        (lambda: field("Email").eq(object()), TypeError),  # type: ignore[arg-type]
        (lambda: field("Amount").gt(float("nan")), ValueError),
        (lambda: field("Stage").in_("Won"), TypeError),
        (lambda: field("Stage").in_([]), ValueError),
        (lambda: field("Stage").in_([str(i) for i in range(51)]), ValueError),
        (lambda: Query("Contacts; drop", ["Email"]), ValueError),
        (lambda: Query("Contacts", []), ValueError),
        (lambda: Query("Contacts", "Email"), ValueError),
        (lambda: Query("Contacts", ["Email", "Email"]), ValueError),
        (lambda: Query("Contacts", [f"F{i}" for i in range(51)]), ValueError),
        (lambda: Query("Contacts", ["Email"], order_by=[("Email", "up")]), ValueError),  # type: ignore[list-item]
        (lambda: Query("Contacts", ["Email"], limit=0), ValueError),
        (lambda: Query("Contacts", ["Email"], where="Email = 'x'"), TypeError),  # type: ignore[arg-type]
        (lambda: Query("Contacts", ["Email"]).text(limit=1, after_id="1 or 1=1"), ValueError),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_more_than_25_criteria_are_refused() -> None:
    where = field("Email").eq("0")
    for i in range(1, 25):
        where = where | field("Email").eq(str(i))
    assert where.criteria == 25
    with pytest.raises(ValueError, match="25 criteria"):
        _ = where | field("Email").eq("25")
