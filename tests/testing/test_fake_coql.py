"""FakeZoho's COQL endpoint through the real transport: what each operator selects, what Zoho refuses and how,
and the credits each LIMIT costs."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.fakes import fake_and_client
from zcrm_async import ZohoCRM
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


async def post(crm: ZohoCRM, body: Any) -> tuple[int, Any]:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    response = await crm.request("POST", "/coql", operation="coql.raw", content=content)
    return response.status, (msgspec.json.decode(response.content) if response.content else None)


def seed(fake: FakeZoho) -> list[str]:
    """Five contacts: names N0..N4, emails on the even ones only."""
    return [fake.add_contact(name=f"N{i}", email=f"n{i}@example.org" if i % 2 == 0 else None) for i in range(5)]


@pytest.mark.parametrize(
    ("where", "picked"),
    [
        ("Last_Name = 'N1'", [1]),
        ("Last_Name != 'N1'", [0, 2, 3, 4]),
        ("Last_Name < 'N2'", [0, 1]),
        ("Last_Name <= 'N2'", [0, 1, 2]),
        ("Last_Name > 'N2'", [3, 4]),
        ("Last_Name >= 'N2'", [2, 3, 4]),
        ("Last_Name in ('N1', 'N3', 'nobody')", [1, 3]),
        ("Last_Name not in ('N1', 'N3')", [0, 2, 4]),
        ("Email like 'N2@%'", [2]),
        ("Email not like '%@example.org'", []),
        ("Email is null", [1, 3]),
        ("Email is not null", [0, 2, 4]),
        ("Email != 'n0@example.org'", [2, 4]),  # a null matches only "is null"
        ("Last_Name between 'N1' and 'N3'", [1, 2, 3]),
        ("(Last_Name = 'N1' or Last_Name = 'N4')", [1, 4]),
        ("((Last_Name = 'N1' or Last_Name = 'N4') and Email is not null)", [4]),
        ("(Email is null and (Last_Name = 'N1' or Last_Name = 'N2'))", [1]),
    ],
)
async def test_each_operator_selects_what_it_says(where: str, picked: list[int]) -> None:
    async with fake_and_client() as (fake, crm):
        ids = seed(fake)
        status, body = await post(crm, {"select_query": f"select Last_Name, Email from Contacts where {where}"})
        if not picked:
            assert (status, body) == (204, None)
            return
        assert status == 200
        assert [row["id"] for row in body["data"]] == [ids[i] for i in picked]
        assert body["info"] == {"count": len(picked), "more_records": False}
        assert set(body["data"][0]) == {"id", "Last_Name", "Email"}


async def test_id_comparisons_order_limit_and_offset() -> None:
    async with fake_and_client() as (fake, crm):
        ids = seed(fake)
        base = "select Last_Name from Contacts where "
        _status, body = await post(crm, {"select_query": base + f"id > {ids[1]} limit 2"})
        assert [r["id"] for r in body["data"]] == ids[2:4] and body["info"]["more_records"] is True
        _, body = await post(crm, {"select_query": base + "id is not null order by Last_Name desc limit 2 offset 1"})
        assert [r["Last_Name"] for r in body["data"]] == ["N3", "N2"] and body["info"]["more_records"] is True
        _, body = await post(crm, {"select_query": base + "id is not null limit 3, 1"})  # LIMIT offset, count
        assert [r["id"] for r in body["data"]] == [ids[3]]
        _, body = await post(crm, {"select_query": "SELECT Last_Name FROM Contacts WHERE id >= " + f"'{ids[4]}'"})
        assert [r["id"] for r in body["data"]] == [ids[4]] and body["info"]["more_records"] is False


@pytest.mark.parametrize(
    ("query", "code", "details"),
    [
        ("select Last_Name from Contacts", "SYNTAX_ERROR", {"clause": "where"}),
        ("select Last_Name from Contacts limit 5", "SYNTAX_ERROR", {"clause": "where"}),
        ("select Last_Name where id is not null", "SYNTAX_ERROR", None),
        ("delete from Contacts where id is not null", "SYNTAX_ERROR", {"clause": "select"}),
        ("select * from Contacts where id is not null", "SYNTAX_ERROR", None),
        ("select Last_Name from Contacts where a = 1 and b = 2 and c = 3", "SYNTAX_ERROR", None),
        ("select Last_Name from Contacts where Last_Name = 'x' or", "SYNTAX_ERROR", None),
        ("select Last_Name from Contacts where Last_Name = 'unclosed", "SYNTAX_ERROR", None),
        ("select Last_Name from Contacts where Last_Name == 'x'", "SYNTAX_ERROR", None),
        ("select Last_Name from Contacts where id is not null; drop", "SYNTAX_ERROR", None),
        ("select Nope from Contacts where Email = 1", "INVALID_QUERY", {"column_name": "Nope", "clause": "select"}),
        ("select Last_Name from Contacts where Nope = 1", "INVALID_QUERY", {"column_name": "Nope", "clause": "where"}),
        ("select Last_Name from Nowhere where id is not null", "INVALID_QUERY", {"module": "Nowhere"}),
        ("select Last_Name from Contacts where id is not null group by Last_Name", "INVALID_QUERY", None),
        ("select Owner.last_name from Contacts where id is not null", "INVALID_QUERY", None),
        ("select Last_Name from Contacts where id is not null limit abc", "INVALID_QUERY", {"limit": "abc"}),
        ("select Last_Name, Last_Name from Contacts where id is not null", "DUPLICATE_DATA", None),
        ("select Last_Name from Contacts where id is not null limit 0", "INVALID_DATA", {"limit": 0}),
        ("select Last_Name from Contacts where id is not null limit 2001", "LIMIT_EXCEEDED", None),
        (
            "select Last_Name from Contacts where id is not null limit 2000 offset 98001",
            "LIMIT_EXCEEDED",
            {"by": "offset", "limit": 100_000},
        ),
        (
            "select Last_Name from Contacts where Last_Name in (" + ", ".join(f"'{i}'" for i in range(51)) + ")",
            "LIMIT_EXCEEDED",
            {"by": "in", "limit": 50},
        ),
        (
            "select " + ", ".join(["Last_Name", *(f"F{i}" for i in range(50))]) + " from Contacts where id is not null",
            "LIMIT_EXCEEDED",
            {"by": "select", "limit": 50},
        ),
    ],
)
async def test_a_query_zoho_refuses_is_refused_in_its_shape(query: str, code: str, details: Any) -> None:
    async with fake_and_client() as (fake, crm):
        seed(fake)
        status, body = await post(crm, {"select_query": query})
        assert status == 400
        assert body["code"] == code and body["status"] == "error" and body["message"]
        if details is not None:
            assert body["details"] == details
        if code == "SYNTAX_ERROR" and details is None:
            assert set(body["details"]) == {"line", "column", "near"}


async def test_more_than_25_criteria_are_refused() -> None:
    where = "Last_Name = '0'"
    for i in range(1, 26):
        where = f"({where} or Last_Name = '{i}')"
    async with fake_and_client() as (_fake, crm):
        status, body = await post(crm, {"select_query": f"select Last_Name from Contacts where {where}"})
        assert (status, body["code"], body["details"]) == (400, "LIMIT_EXCEEDED", {"by": "where", "limit": 25})


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MANDATORY_NOT_FOUND"),
        ({"select_query": 5}, "MANDATORY_NOT_FOUND"),
        (b"not json", "INVALID_DATA"),
        ({"select_query": "select Last_Name from Contacts where id is not null", "include_meta": ["fields"]},
         "INVALID_DATA"),
    ],
)
async def test_a_bad_body_is_refused(body: Any, code: str) -> None:
    async with fake_and_client() as (_fake, crm):
        status, answer = await post(crm, body)
        assert (status, answer["code"]) == (400, code)


@pytest.mark.parametrize(("limit", "credits"), [(1, 1), (200, 1), (201, 2), (1000, 2), (1001, 3), (2000, 3)])
async def test_a_query_costs_the_credits_of_its_limit(limit: int, credits: int) -> None:
    async with fake_and_client() as (fake, crm):
        seed(fake)
        before = fake.credits_used
        await post(crm, {"select_query": f"select Last_Name from Contacts where id is not null limit {limit}"})
        assert fake.credits_used - before == credits


async def test_coql_needs_the_modules_read_scope() -> None:
    config = FakeConfig(scope="ZohoCRM.modules.deals.READ")
    async with fake_and_client(config) as (_fake, crm):
        status, body = await post(crm, {"select_query": "select Last_Name from Contacts where id is not null"})
        assert (status, body["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
        status, _ = await post(crm, {"select_query": "select Deal_Name from Deals where id is not null"})
        assert status == 204
