"""The cells of the reads' matrix (tests/records/COVERAGE.md) the other read tests leave: each search kind
(criteria, email, phone, word) found, refused, asked again after lost answers and refused before any request; a
paged read (search, COQL) that a call fails midway raises instead of ending as if complete; Get Records by ids
refused; COQL past Zoho's reach with lost answers; one COQL page refused and answered after a lost answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import fake_and_client
from tests.records.test_record_writes import LoseUntilBackoff
from zcrm_async import APIError, InvalidRequestError, RetryPolicy, ServerError
from zcrm_async.coql import Query
from zcrm_async.search import criterion
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


def sent(fake: FakeZoho) -> int:
    return sum(count for name, count in fake.stats.requests.items() if name != "token")


def seed(fake: FakeZoho, count: int) -> list[str]:
    """Contacts N0.. with an email each and a phone on every third."""
    ids = []
    for i in range(count):
        record = fake.world.add_record("Contacts", f"N{i}", email=f"n{i}@example.org")
        if i % 3 == 0:
            record.fields["Phone"] = f"+1 555 {i:04d}"
        ids.append(record.id)
    return ids


#: Each search kind, what it searches by, and the indexes of seed(fake, 30) it finds.
KINDS: dict[str, tuple[dict[str, Any], list[int]]] = {
    "criteria": ({"criteria": criterion("Last_Name", "starts_with", "N2")}, [2, *range(20, 30)]),
    "email": ({"email": "N7@example.ORG"}, [7]),
    "phone": ({"phone": "+1 555 0012"}, [12]),
    "word": ({"word": "n1"}, [1, *range(10, 20)]),
}
#: Each kind given a value refused before any request.
BAD: dict[str, dict[str, Any]] = {
    "criteria": {"criteria": "Last_Name:equals:x"},  # not bracketed
    "email": {"email": ""},
    "phone": {"phone": "  "},
    "word": {"word": "x"},  # Zoho's word search needs 2 characters
}


async def found(crm: Any, module: str, search: dict[str, Any]) -> list[str]:
    return [record["id"] async for record in crm.records.search(module, **search)]


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_search_kind_finds_exactly_its_records_for_a_credit(kind: str) -> None:
    async with fake_and_client() as (fake, crm):
        ids = seed(fake, 30)
        search, expected = KINDS[kind]
        assert await found(crm, "Contacts", search) == [ids[i] for i in expected]
        assert fake.stats.requests["search_records"] == 1
        assert crm.counters.credits_spent == fake.credits_used == 1


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_search_kind_is_asked_again_after_lost_answers(kind: str) -> None:
    async with fake_and_client(FakeConfig(seed=11)) as (fake, crm):
        ids = seed(fake, 30)
        fake.set_faults(drop_rate=0.6)
        search, expected = KINDS[kind]
        assert await found(crm, "Contacts", search) == [ids[i] for i in expected]
        assert fake.stats.dropped > 0 and fake.stats.requests["search_records"] > 1


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_search_kind_refused_by_zoho_raises_its_code(kind: str) -> None:
    async with fake_and_client() as (fake, crm):
        seed(fake, 3)
        with pytest.raises(InvalidRequestError) as caught:
            await found(crm, "Nowhere", KINDS[kind][0])
        assert caught.value.code == "INVALID_MODULE"


@pytest.mark.parametrize("kind", list(BAD))
async def test_each_search_kind_with_a_bad_value_is_refused_before_any_request(kind: str) -> None:
    async with fake_and_client() as (fake, crm):
        seed(fake, 3)
        with pytest.raises(ValueError):
            await found(crm, "Contacts", BAD[kind])
        with pytest.raises(ValueError):
            await crm.records.count("Contacts", **BAD[kind])
        assert sent(fake) == 0


async def test_record_count_bad_input_is_refused_before_any_request() -> None:
    async with fake_and_client() as (fake, crm):
        for module in ("Contacts/x", "", "Contacts?x=1"):
            with pytest.raises(ValueError):
                await crm.records.count(module)
        with pytest.raises(ValueError):
            await crm.records.count("Contacts", email="a@b.c", word="ab")
        assert sent(fake) == 0


async def test_get_many_refused_by_zoho_raises_its_code() -> None:
    async with fake_and_client(FakeConfig(scope="ZohoCRM.modules.deals.READ")) as (fake, crm):
        ids = seed(fake, 3)
        with pytest.raises(APIError) as caught:
            [record async for record in crm.records.get_many("Contacts", ids, fields=["Email"])]
        assert caught.value.code == "OAUTH_SCOPE_MISMATCH"


async def test_get_many_is_asked_again_after_lost_answers() -> None:
    async with fake_and_client(FakeConfig(seed=4)) as (fake, crm):
        ids = seed(fake, 450)
        fake.set_faults(drop_rate=0.4)
        got = [record["id"] async for record in crm.records.get_many("Contacts", ids, fields=["Email"])]
        assert sorted(got) == sorted(ids) and fake.stats.dropped > 0


async def test_a_search_whose_later_page_fails_raises_instead_of_ending_short() -> None:
    async with fake_and_client(FakeConfig(seed=1), retry=RetryPolicy(attempts=1)) as (fake, crm):
        seed(fake, 450)
        fake.set_faults(error_rate=0.3)
        seen = []
        with pytest.raises(ServerError):
            async for record in crm.records.search("Contacts", word="example", per_page=50):
                seen.append(record)
        # page 1 was answered (the seed makes it so), a later page was not: the read raised, it did not end
        assert fake.stats.responses[200] >= 1 and fake.stats.errors_500 >= 1
        assert len(seen) < 450


async def test_a_coql_read_whose_later_page_fails_raises_instead_of_ending_short() -> None:
    async with fake_and_client(retry=RetryPolicy(attempts=1)) as (fake, crm):
        seed(fake, 450)
        seen = []
        with pytest.raises(ServerError):
            async for row in crm.records.coql(Query("Contacts", ["Email"]), page_size=100):
                seen.append(row)
                fake.set_faults(error_rate=1.0)  # every call after the first page's answers 500
        assert len(seen) == 100 and fake.stats.errors_500 >= 1


async def test_a_coql_page_refused_by_zoho_raises_its_code() -> None:
    async with fake_and_client() as (fake, crm):
        seed(fake, 3)
        with pytest.raises(InvalidRequestError) as caught:
            await crm.records.coql_page(Query("Nowhere", ["Email"]))
        assert caught.value.code in ("INVALID_MODULE", "INVALID_QUERY")
        with pytest.raises(InvalidRequestError) as caught:
            await crm.records.coql_page(Query("Contacts", ["No_Such_Field"]), limit=2000)
        assert caught.value.code == "INVALID_QUERY"


async def test_a_coql_page_whose_answer_was_lost_is_asked_again() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        ids = seed(fake, 30)
        lose.arm(fake)
        page = await crm.records.coql_page(Query("Contacts", ["Email"]), limit=20, offset=5)
        assert [row["id"] for row in page.data] == ids[5:25]
        assert fake.stats.lost_responses > 0


async def test_past_100000_rows_lost_answers_are_asked_again_and_every_row_comes_once() -> None:
    async with fake_and_client(FakeConfig(seed=9)) as (fake, crm):
        ids = [fake.world.add_record("Contacts", f"C{i}").id for i in range(101_200)]
        fake.set_faults(lost_response_rate=0.3, drop_rate=0.1)
        seen = [row["id"] async for row in crm.records.coql(Query("Contacts", ["Last_Name"]))]
        assert seen == ids
        assert fake.stats.lost_responses + fake.stats.dropped > 0
        assert fake.stats.requests["coql"] > 51  # 50 pages by offset, one by key, and the ones asked again
