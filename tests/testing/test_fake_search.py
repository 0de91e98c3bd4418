"""FakeZoho's Search Records, Record Count and Get Records by ids, asked directly: what each rule answers."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.fakes import fake_and_client
from zcrm_async import ZohoCRM

pytestmark = pytest.mark.anyio


async def get(crm: ZohoCRM, path: str, **params: str) -> tuple[int, Any]:
    response = await crm.request("GET", path, operation="raw", params=params)
    return response.status, (msgspec.json.decode(response.content) if response.content else None)


async def test_search_rules() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_contact(name=f"N{i}", email=f"n{i}@example.org") for i in range(30)]
        status, body = await get(crm, "/Contacts/search")
        assert (status, body["code"]) == (400, "EXPECTED_PARAM_MISSING")
        # criteria take precedence over email
        status, body = await get(crm, "/Contacts/search", criteria="(Last_Name:equals:n3)", email="n4@example.org")
        assert [r["id"] for r in body["data"]] == [ids[3]]
        _, body = await get(crm, "/Contacts/search", criteria="(Last_Name:between:N27,N29)")
        assert [r["id"] for r in body["data"]] == ids[27:30]
        _, body = await get(crm, "/Contacts/search", criteria="((Last_Name:greater_equal:N8)or(Last_Name:equals:N0))")
        assert [r["id"] for r in body["data"]] == [ids[0], ids[8], ids[9]]  # text order
        status, body = await get(crm, "/Contacts/search", word="x")
        assert (status, body["code"]) == (400, "INVALID_DATA")
        for bad in ("(Last_Name:equals:a(b)", "Last_Name:equals:x", "((A:equals:1)and(B:equals:2)or(C:equals:3))",
                    "(Last_Name:equals:a,b)", "(Last_Name:contains:x)", "(Last_Name:equals:x)trailing"):
            status, body = await get(crm, "/Contacts/search", criteria=bad)
            assert (status, body["code"]) == (400, "INVALID_QUERY"), bad
        status, body = await get(crm, "/Contacts/search", email="n1@example.org", per_page="201")
        assert (status, body["code"]) == (400, "INVALID_DATA")
        status, body = await get(crm, "/Contacts/search", email="n1@example.org", page="11")
        assert (status, body["code"], body["details"]) == (400, "LIMIT_REACHED", {"limit": 2000})
        status, body = await get(crm, "/Nowhere/search", email="n1@example.org")
        assert (status, body["code"]) == (400, "INVALID_MODULE")
        status, body = await get(crm, "/Contacts/search", email="nobody@example.org")
        assert (status, body) == (204, None)
        _, body = await get(crm, "/Contacts/search", word="example", per_page="20", page="2")
        assert body["info"] == {"per_page": 20, "count": 10, "page": 2, "more_records": False}


def _or_chain(count: int) -> str:
    criteria = "(Last_Name:equals:N0)"
    for i in range(1, count):
        criteria = f"({criteria}or(Last_Name:equals:N{i}))"
    return criteria


async def test_search_takes_up_to_15_criteria_as_zohos_example_answer_says() -> None:
    async with fake_and_client() as (fake, crm):
        for i in range(20):
            fake.add_contact(name=f"N{i}")
        status, body = await get(crm, "/Contacts/search", criteria=_or_chain(15))
        assert (status, body["info"]["count"]) == (200, 15)
        status, body = await get(crm, "/Contacts/search", criteria=_or_chain(16))
        assert (status, body["code"]) == (400, "LIMIT_EXCEEDED")
        values = ",".join(f"v{i}" for i in range(101))
        status, body = await get(crm, "/Contacts/search", criteria=f"(Last_Name:in:{values})")
        assert (status, body["code"]) == (400, "LIMIT_EXCEEDED")


async def test_count_rules() -> None:
    async with fake_and_client() as (fake, crm):
        for i in range(12):
            fake.add_contact(name=f"N{i}", email=f"n{i}@example.org")
        assert await get(crm, "/Contacts/actions/count") == (200, {"count": 12})
        assert await get(crm, "/Contacts/actions/count", word="N1") == (200, {"count": 3})
        status, body = await get(crm, "/Contacts/actions/count", cvid="1", email="n1@example.org")
        assert status == 400 and body["code"] == "AMBIGUITY_DURING_PROCESSING"
        assert body["details"] == {"ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": "email"}]}
        status, body = await get(crm, "/Nowhere/actions/count")
        assert (status, body["code"]) == (400, "INVALID_MODULE")


async def test_get_records_by_ids_answers_only_known_ids() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_contact(name=f"N{i}") for i in range(5)]
        status, body = await get(crm, "/Contacts", fields="Last_Name", ids=f"{ids[1]},{ids[3]},5843104000999999999")
        assert status == 200 and sorted(r["id"] for r in body["data"]) == [ids[1], ids[3]]
        assert await get(crm, "/Contacts", fields="Last_Name", ids="5843104000999999999") == (204, None)
