"""Get Record, Get Records by ids, Search Records and Record Count against FakeZoho through the real transport:
success, partial and empty answers, Zoho's refusals, lost answers (reads are asked again), bad input refused
before any request, and one credit a call counted by both sides."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.test_client import Script, make
from tests.fakes import fake_and_client
from zcrm_async import APIError, InvalidRequestError, PaginationError
from zcrm_async.search import criterion
from zcrm_async.testing import FakeConfig, FakeZoho, json_response

pytestmark = pytest.mark.anyio


def contacts(fake: FakeZoho, count: int) -> list[str]:
    return [fake.add_contact(name=f"N{i}", email=f"n{i}@example.org") for i in range(count)]


def requests(fake: FakeZoho) -> int:
    return sum(count for name, count in fake.stats.requests.items() if name != "token")


# -- Get Record --------------------------------------------------------------------------------------------


async def test_get_answers_the_record_its_fields_or_none() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 3)
        record = await crm.records.get("Contacts", ids[1])
        assert record is not None and record["id"] == ids[1] and record["Email"] == "n1@example.org"
        assert await crm.records.get("Contacts", ids[2], fields=["Email"]) == {"id": ids[2], "Email": "n2@example.org"}
        assert await crm.records.get("Contacts", "5843104000999999999") is None
        assert await crm.records.get("Deals", ids[0]) is None  # a contact's id is no deal
        assert crm.counters.credits_spent == fake.credits_used == 4


async def test_get_refusals_and_bad_input() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 1)
        with pytest.raises(InvalidRequestError) as caught:
            await crm.records.get("Nowhere", ids[0])
        assert caught.value.code == "INVALID_MODULE"
        before = requests(fake)
        for bad in ("", "12a", "1/../2", "1 or 1"):
            with pytest.raises(ValueError):
                await crm.records.get("Contacts", bad)
        with pytest.raises(ValueError):
            await crm.records.get("Contacts/x", ids[0])
        with pytest.raises(ValueError):
            await crm.records.get("Contacts", ids[0], fields=[])
        assert requests(fake) == before


# -- Get Records by ids ------------------------------------------------------------------------------------


async def test_get_many_reads_100_ids_a_call_and_leaves_out_unknown_ids() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 260)
        wanted = [*ids[:250], "5843104000999999999"]
        found = [r async for r in crm.records.get_many("Contacts", wanted, fields=["Email"], concurrency=2)]
        assert sorted(r["id"] for r in found) == sorted(ids[:250])
        assert fake.stats.requests["get_records"] == 3
        assert crm.counters.credits_spent == fake.credits_used == 3
        assert [r async for r in crm.records.get_many("Contacts", ["5843104000999999999"], fields=["Email"])] == []
        assert [r async for r in crm.records.get_many("Contacts", [], fields=["Email"])] == []
        assert fake.stats.requests["get_records"] == 4


async def test_get_many_takes_ids_from_a_generator_in_constant_memory() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 1000)
        found = [r["id"] async for r in crm.records.get_many("Contacts", iter(ids), fields=["Email"])]
        assert sorted(found) == sorted(ids)
        assert fake.stats.requests["get_records"] == 10


async def test_get_many_bad_input_is_refused_before_any_request() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 3)
        for bad, error in (([ids[0], "x1"], ValueError), (ids[0], TypeError)):
            with pytest.raises(error):
                [r async for r in crm.records.get_many("Contacts", bad, fields=["Email"])]
        with pytest.raises(ValueError):
            [r async for r in crm.records.get_many("Contacts", ids, fields=[])]
        with pytest.raises(ValueError):
            [r async for r in crm.records.get_many("Contacts", ids, fields=["Email"], concurrency=0)]
        assert requests(fake) == 0


# -- Search Records ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["O'Brien (UK), Ltd", "back\\slash\\", "a:b:c", "paren)", "((x))", "comma,"])
async def test_criteria_values_with_zohos_special_characters_find_exactly_their_record(name: str) -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 3)
        target = fake.add_contact(name=name, email="t@example.org")
        fake.add_contact(name=name + " and more", email="u@example.org")
        found = [r async for r in crm.records.search("Contacts", criteria=criterion("Last_Name", "equals", name))]
        assert [r["id"] for r in found] == [target]
        both = criterion("Last_Name", "in", [name, "N1"]) & criterion("Email", "not_equal", "n1@example.org")
        assert [r["id"] async for r in crm.records.search("Contacts", criteria=both)] == [target]


async def test_search_by_email_word_and_phone() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 30)
        assert [r["id"] async for r in crm.records.search("Contacts", email="N7@EXAMPLE.org")] == [ids[7]]
        found = [r["id"] async for r in crm.records.search("Contacts", word="n2", fields=["Last_Name"])]
        assert found == [ids[2], *ids[20:30]]
        assert [r async for r in crm.records.search("Contacts", phone="+1 555 0100")] == []
        assert fake.stats.requests["search_records"] == 3
        assert crm.counters.credits_spent == fake.credits_used == 3


async def test_search_pages_the_first_2000_side_by_side_then_says_the_rest_is_out_of_reach() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 450)
        found = [r["id"] async for r in crm.records.search("Contacts", criteria=criterion("Email", "starts_with", "n"))]
        assert found == ids
        assert fake.stats.requests["search_records"] == 10  # page 1, then pages 2-10 together
        contacts(fake, 1600)
        seen = 0
        with pytest.raises(PaginationError, match="COQL"):
            async for _ in crm.records.search("Contacts", word="example", per_page=150):
                seen += 1
        assert seen == 2000  # 13 pages of 150 and the 50 records of the 14th: Zoho's 2,000


async def test_search_refusals_raise_their_code() -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 3)
        with pytest.raises(InvalidRequestError) as caught:
            [r async for r in crm.records.search("Contacts", criteria="(No_Such:equals:x)")]
        assert caught.value.code == "INVALID_QUERY"
        with pytest.raises(InvalidRequestError) as caught:
            [r async for r in crm.records.search("Contacts", criteria="(Email:like:x)")]
        assert caught.value.code == "INVALID_QUERY"
    async with fake_and_client(FakeConfig(scope="ZohoCRM.modules.contacts.READ")) as (fake, crm):
        with pytest.raises(APIError) as scope:
            [r async for r in crm.records.search("Contacts", email="a@b.c")]
        assert scope.value.code == "OAUTH_SCOPE_MISMATCH"


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"email": "a@b.c", "word": "ab"},
        {"email": " "},
        {"word": "a"},
        {"criteria": "Email:equals:x"},
        {"email": "a@b.c", "per_page": 201},
        {"email": "a@b.c", "fields": ["A,B"]},
    ],
)
async def test_search_bad_input_is_refused_before_any_request(options: dict[str, Any]) -> None:
    async with fake_and_client() as (fake, crm):
        with pytest.raises(ValueError):
            [r async for r in crm.records.search("Contacts", **options)]
        assert requests(fake) == 0


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: criterion("Email)", "equals", "x"), ValueError),
        (lambda: criterion("Email", "like", "x"), ValueError),  # type: ignore[arg-type]
        (lambda: criterion("Email", "equals", ""), ValueError),
        (lambda: criterion("Email", "in", "x"), TypeError),
        (lambda: criterion("Email", "equals", ["x"]), TypeError),
        (lambda: criterion("Amount", "between", [1]), ValueError),
        (lambda: criterion("Email", "in", [str(i) for i in range(101)]), ValueError),
        (lambda: criterion("Email", "equals", None), TypeError),  # type: ignore[arg-type]
    ],
)
def test_bad_criteria_are_refused_when_built(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_more_than_10_criteria_are_refused_when_built() -> None:
    criteria = criterion("Email", "equals", "0")
    for i in range(1, 10):
        criteria = criteria | criterion("Email", "equals", str(i))
    with pytest.raises(ValueError, match="10 criteria"):
        _ = criteria | criterion("Email", "equals", "10")


# -- Record Count ------------------------------------------------------------------------------------------


async def test_count_counts_the_module_or_a_search() -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 25)
        assert await crm.records.count("Contacts") == 25
        assert await crm.records.count("Contacts", criteria=criterion("Last_Name", "starts_with", "N1")) == 11
        assert await crm.records.count("Contacts", email="n3@example.org") == 1
        assert await crm.records.count("Deals") == 0
        assert crm.counters.credits_spent == fake.credits_used == 4
        with pytest.raises(InvalidRequestError):
            await crm.records.count("Contacts", cvid="5843104000000087501")
        with pytest.raises(ValueError):
            await crm.records.count("Contacts", cvid="5843104000000087501", email="n3@example.org")
        assert fake.stats.requests["record_count"] == 5


@pytest.mark.parametrize(("body", "expected"), [({"count": 694}, 694), ({"count": "694"}, 694)])
async def test_count_reads_a_number_or_a_string(body: dict[str, Any], expected: int) -> None:
    crm, _, _, _ = make(Script(json_response(200, body)))
    async with crm:
        assert await crm.records.count("Leads") == expected


# -- lost answers ------------------------------------------------------------------------------------------


async def test_lost_answers_are_asked_again() -> None:
    async with fake_and_client(FakeConfig(seed=5)) as (fake, crm):
        ids = contacts(fake, 700)
        fake.set_faults(drop_rate=0.25, error_rate=0.1)
        found = [r["id"] async for r in crm.records.search("Contacts", word="example")]
        assert found == ids[:700]
        assert sorted([r["id"] async for r in crm.records.get_many("Contacts", ids, fields=["Email"])]) == sorted(ids)
        assert await crm.records.count("Contacts") == 700
        assert (await crm.records.get("Contacts", ids[5]) or {}).get("id") == ids[5]
        assert fake.stats.dropped > 0
        assert crm.counters.credits_spent == fake.credits_used


# -- Get Records of an unknown module ------------------------------------------------------------------------


async def test_get_records_of_an_unknown_module_is_zohos_invalid_module() -> None:
    """FakeZoho answers Record Count's documented 400 INVALID_MODULE for Get Records too; nothing is read."""
    async with fake_and_client() as (fake, crm):
        contacts(fake, 2)
        with pytest.raises(InvalidRequestError) as caught:
            await crm.records.page("Nowhere", fields=["Last_Name"])
        assert (caught.value.status, caught.value.code) == (400, "INVALID_MODULE")
        assert caught.value.details == {"resource_path_index": 0}
        with pytest.raises(InvalidRequestError):
            _ = [record async for record in crm.records.iterate("Nowhere", fields=["Last_Name"])]


async def test_get_records_refused_inside_a_200_raises_the_refusal_not_an_empty_page() -> None:
    """record.json declares Get Records' refusals inside its 200 (oneOf the page and API_Exception): read as a
    page, that body would be an empty one, and an export of a mistyped module would end with 0 records, silent."""
    refusal = {"code": "INVALID_MODULE", "details": {"resource_path_index": 0},
               "message": "the module name given seems to be invalid", "status": "error"}  # fmt: skip
    crm, _, _, _ = make(Script(json_response(200, refusal)))
    async with crm:
        with pytest.raises(InvalidRequestError) as caught:
            await crm.records.page("Nowhere", fields=["Last_Name"])
    assert (caught.value.status, caught.value.code) == (200, "INVALID_MODULE")
    crm, _, _, _ = make(Script(json_response(200, {"data": [], "info": {"more_records": False}})))
    async with crm:  # an answer that is a page, with no records, is still an empty page
        assert (await crm.records.page("Contacts", fields=["Last_Name"])).data == []
