"""crm.records.coql against FakeZoho through the real transport: paging by offset, then by key past Zoho's
100,000, rounds side by side, the credits of each LIMIT, refusals, lost responses and bad input."""

from __future__ import annotations

import pytest

from tests.fakes import fake_and_client
from zcrm_async import Budget, InvalidRequestError, PaginationError, TransportError
from zcrm_async.coql import Query, field
from zcrm_async.search import criterion
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

CONTACTS = Query("Contacts", ["Last_Name", "Email"])


def contacts(fake: FakeZoho, count: int) -> list[str]:
    return [fake.world.add_record("Contacts", f"C{i}", email=f"c{i}@example.org").id for i in range(count)]


async def test_rows_come_once_in_id_order_in_rounds_that_double() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 450)
        rows = [row async for row in crm.records.coql(CONTACTS, page_size=100)]
        assert [row["id"] for row in rows] == ids
        assert rows[0] == {"id": ids[0], "Last_Name": "C0", "Email": "c0@example.org"}
        # rounds of 1, 2 and 4 pages: offsets 0 | 100 200 | 300 400 500 600; the page at 400 is short
        assert fake.stats.requests["coql"] == 7
        assert crm.counters.credits_spent == fake.credits_used == 7


async def test_past_100000_rows_the_read_continues_by_key_and_pays_each_limit() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 101_500)
        seen = [row["id"] async for row in crm.records.coql(Query("Contacts", ["Last_Name"]))]
        assert seen == ids
        # 50 pages of 2,000 by offset (Zoho's reach), then one by id > last
        assert fake.stats.requests["coql"] == 51
        assert crm.counters.credits_spent == fake.credits_used == 51 * 3

        ordered = Query("Contacts", ["Last_Name"], order_by=[("id", "desc")])
        count = 0
        with pytest.raises(PaginationError, match="order by id"):
            async for _ in crm.records.coql(ordered):
                count += 1
        assert count == 100_000


async def test_a_limit_is_read_in_pages_priced_by_their_own_limit() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 3000)
        rows = [row async for row in crm.records.coql(Query("Contacts", ["Last_Name"], limit=2500))]
        assert [row["id"] for row in rows] == ids[:2500]
        # LIMIT 2000 (3 credits) then LIMIT 500 (2 credits)
        assert fake.stats.requests["coql"] == 2
        assert crm.counters.credits_spent == fake.credits_used == 5


@pytest.mark.parametrize(("limit", "credits"), [(1, 1), (200, 1), (201, 2), (1000, 2), (1001, 3), (2000, 3)])
async def test_the_budget_counts_zohos_price_for_each_limit(limit: int, credits: int) -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 10)
        page = await crm.records.coql_page(CONTACTS, limit=limit)
        assert len(page.data) == min(limit, 10)
        assert crm.counters.credits_spent == fake.credits_used == credits


async def test_a_budget_override_of_a_tier_is_what_it_counts() -> None:
    budget = Budget(concurrency=10, costs={"coql.up_to_2000": 4})
    async with fake_and_client(budget=budget) as (fake, crm):
        contacts(fake, 10)
        await crm.records.coql_page(CONTACTS, limit=2000)
        assert crm.counters.credits_spent == 4


async def test_pages_side_by_side_keep_to_the_heavy_sub_concurrency() -> None:
    config = FakeConfig(heavy_cap=2, latency=0.02)
    budget = Budget(concurrency=10, heavy_concurrency=2)
    async with fake_and_client(config, budget=budget) as (fake, crm):
        ids = contacts(fake, 1600)
        seen = [row["id"] async for row in crm.records.coql(CONTACTS, page_size=100, concurrency=8)]
        assert seen == ids
        assert fake.stats.throttled_429 == 0
        assert fake.stats.max_in_flight == 2


async def test_a_filtered_query_reads_only_its_matches() -> None:
    async with fake_and_client() as (fake, crm):
        ids = contacts(fake, 500)
        query = Query("Contacts", ["Email"], where=field("Email").like("c1%") & field("Last_Name").ne("C1"))
        seen = [row["id"] async for row in crm.records.coql(query, page_size=50)]
        assert seen == [ids[i] for i in range(500) if str(i).startswith("1") and i != 1]


async def test_no_match_is_an_empty_read() -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 3)
        query = Query("Contacts", ["Email"], where=field("Email").eq("nobody@example.org"))
        assert [row async for row in crm.records.coql(query)] == []
        assert (await crm.records.coql_page(query)).data == []
        assert fake.stats.requests["coql"] == 2


async def test_a_query_zoho_refuses_raises_its_code() -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 3)
        with pytest.raises(InvalidRequestError) as caught:
            [row async for row in crm.records.coql(Query("Contacts", ["Not_A_Field"]))]
        assert caught.value.code == "INVALID_QUERY" and caught.value.details["column_name"] == "Not_A_Field"


async def test_lost_answers_are_asked_again_and_every_row_comes_once() -> None:
    async with fake_and_client(FakeConfig(seed=3)) as (fake, crm):
        ids = contacts(fake, 1000)
        fake.set_faults(drop_rate=0.2, lost_response_rate=0.2, error_rate=0.1)
        seen = [row["id"] async for row in crm.records.coql(CONTACTS, page_size=100)]
        assert seen == ids
        assert fake.stats.dropped + fake.stats.lost_responses > 0
        assert crm.counters.credits_spent == fake.credits_used


async def test_no_answer_at_all_is_a_transport_error() -> None:
    async with fake_and_client(FakeConfig(seed=1)) as (fake, crm):
        contacts(fake, 3)
        fake.set_faults(drop_rate=1.0)
        with pytest.raises(TransportError):
            await crm.records.coql_page(CONTACTS)


@pytest.mark.parametrize(
    "options", [{"page_size": 0}, {"page_size": 2001}, {"concurrency": 0}, {"page_size": True}]
)
async def test_bad_paging_is_refused_before_any_request(options: dict[str, int]) -> None:
    async with fake_and_client() as (fake, crm):
        with pytest.raises(ValueError):
            [row async for row in crm.records.coql(CONTACTS, **options)]
        for limit, offset in ((0, 0), (2001, 0), (2000, 98_001), (10, -1)):
            with pytest.raises(ValueError):
                await crm.records.coql_page(CONTACTS, limit=limit, offset=offset)
        assert fake.stats.requests["coql"] == 0


async def test_a_field_a_write_set_can_be_queried_and_searched() -> None:
    async with fake_and_client() as (fake, crm):
        contacts(fake, 3)
        body = b'{"data": [{"Last_Name": "Boyle", "First_Name": "Patricia", "Email": "pb@example.org"}]}'
        inserted = await crm.request("POST", "/Contacts", operation="records.insert", content=body)
        assert inserted.status == 201
        query = Query("Contacts", ["First_Name", "Last_Name"], where=field("First_Name").eq("Patricia"))
        rows = [row async for row in crm.records.coql(query)]
        assert [(row["First_Name"], row["Last_Name"]) for row in rows] == [("Patricia", "Boyle")]
        by_name = criterion("First_Name", "equals", "patricia")
        found = [r async for r in crm.records.search("Contacts", criteria=by_name)]
        assert [r["id"] for r in found] == [rows[0]["id"]]
