"""The streaming forms of Insert, Update, Upsert and Delete Records (``*_stream``) through the real transport against
FakeZoho: success, partial failure, all failed, lost answers (the fake applies the write and drops the answer) and
bad input (an argument refused before any request; a bad item refused alone, nothing sent for it)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from tests.fakes import fake_and_client
from tests.records.test_record_writes import LoseUntilBackoff, emails_of, people
from zcrm_async import ItemResult
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

UNKNOWN_ID = "5843104000999999999"


async def drain(stream: AbstractAsyncContextManager[Any]) -> dict[int, ItemResult[Any]]:
    """Every ``(index, result)`` of a stream, each index once."""
    seen: dict[int, ItemResult[Any]] = {}
    async with stream as results:
        async for index, result in results:
            assert index not in seen, f"index {index} came twice"
            seen[index] = result
    return seen


def codes(seen: dict[int, ItemResult[Any]]) -> list[str]:
    return [seen[index].code for index in sorted(seen)]


def sent(fake: FakeZoho) -> int:
    return sum(count for name, count in fake.stats.requests.items() if name != "token")


# -- insert_stream ----------------------------------------------------------------------------------------------


async def test_insert_stream_success_gives_every_record_its_new_id() -> None:
    async with fake_and_client() as (fake, crm):
        seen = await drain(crm.records.insert_stream("Contacts", iter(people(230))))
        assert sorted(seen) == list(range(230)) and set(codes(seen)) == {"SUCCESS"}
        for index, result in seen.items():
            assert fake.world.record(result.details["id"]).email == f"p{index}@example.net"
        assert fake.stats.requests["insert_records"] == 3


async def test_insert_stream_partial_failure_lands_each_error_on_its_record() -> None:
    async with fake_and_client() as (fake, crm):
        fake.add_contact("Taken", "taken@example.net", external_id="ext-1")
        rows = people(4)
        del rows[2]["Last_Name"]
        seen = await drain(crm.records.insert_stream("Contacts", rows))
        assert codes(seen) == ["SUCCESS", "DUPLICATE_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
        assert seen[2].details["api_name"] == "Last_Name"


async def test_insert_stream_all_failed_is_a_result_per_record() -> None:
    async with fake_and_client() as (fake, crm):
        seen = await drain(crm.records.insert_stream("Deals", [{"Deal_Name": "A"}, {"Deal_Name": "B"}]))
        assert codes(seen) == ["MANDATORY_NOT_FOUND"] * 2 and not fake.world.records_of("Deals")


async def test_insert_stream_with_lost_answers_reads_back_and_makes_each_record_once() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        seen = await drain(crm.records.insert_stream("Contacts", people(250), lookup_field="External_Contact_ID"))
        assert set(codes(seen)) == {"SUCCESS"} and len(seen) == 250
        assert fake.stats.lost_responses > 0 and fake.stats.requests["coql"] > 0  # looked up, not resent blind
        assert emails_of(fake) == sorted(f"p{n}@example.net" for n in range(250))
        assert set(fake.stats.record_writes.values()) == {1}


async def test_insert_stream_in_doubt_without_a_lookup_field_is_never_resent() -> None:
    async with fake_and_client(FakeConfig(lost_response_rate=1.0)) as (fake, crm):
        seen = await drain(crm.records.insert_stream("Contacts", people(20)))
        assert codes(seen) == ["TRANSPORT_ERROR"] * 20 and all(r.details["in_doubt"] for r in seen.values())
        assert fake.stats.requests["insert_records"] == 1 and len(fake.world.records_of("Contacts")) == 20


# -- update_stream ----------------------------------------------------------------------------------------------


async def test_update_stream_success_partial_and_all_failed() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_contact(f"C{i}", f"c{i}@example.net") for i in range(150)]
        done = await drain(crm.records.update_stream("Contacts", ({"id": i, "Last_Name": f"N{i}"} for i in ids)))
        assert set(codes(done)) == {"SUCCESS"} and all(fake.world.record(i).name == f"N{i}" for i in ids)

        rows = [{"id": ids[0], "Last_Name": "New"}, {"id": UNKNOWN_ID, "Last_Name": "x"},
                {"id": ids[1], "Last_Name": ""}]  # fmt: skip
        mixed = await drain(crm.records.update_stream("Contacts", rows))
        failed = await drain(crm.records.update_stream("Contacts", rows[1:]))
        assert codes(mixed) == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND"]
        assert codes(failed) == ["INVALID_DATA", "MANDATORY_NOT_FOUND"]
        assert fake.world.record(ids[0]).name == "New" and fake.world.record(ids[1]).name == f"N{ids[1]}"


async def test_update_stream_replayed_after_lost_answers_ends_with_the_values_sent() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        ids = [fake.add_contact(f"C{i}", f"c{i}@example.net") for i in range(150)]
        lose.arm(fake)
        seen = await drain(crm.records.update_stream("Contacts", [{"id": i, "Last_Name": f"N{i}"} for i in ids]))
        assert set(codes(seen)) == {"SUCCESS"} and fake.stats.lost_responses > 0
        assert all(fake.world.record(i).name == f"N{i}" for i in ids)


# -- upsert_stream ----------------------------------------------------------------------------------------------


async def test_upsert_stream_partial_and_all_failed() -> None:
    async with fake_and_client() as (fake, crm):
        known = fake.add_contact("Known", "p1@example.net")
        rows = people(3)
        rows[2].pop("Last_Name")
        mixed = await drain(crm.records.upsert_stream("Contacts", rows, duplicate_check_fields=["Email"]))
        assert codes(mixed) == ["SUCCESS", "SUCCESS", "MANDATORY_NOT_FOUND"]
        assert (mixed[1].details["action"], mixed[1].details["id"]) == ("update", known)

        failed = await drain(crm.records.upsert_stream("Contacts", [{"Email": "a@x.net"}, {"Email": "b@x.net"}]))
        assert codes(failed) == ["MANDATORY_NOT_FOUND"] * 2


async def test_upsert_stream_replayed_after_lost_answers_creates_no_duplicate() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        seen = await drain(crm.records.upsert_stream("Contacts", iter(people(300)), duplicate_check_fields=["Email"]))
        assert set(codes(seen)) == {"SUCCESS"} and fake.stats.lost_responses > 0
        assert emails_of(fake) == sorted(f"p{n}@example.net" for n in range(300))
        assert any(result.attempts > 1 for result in seen.values())


# -- delete_stream ----------------------------------------------------------------------------------------------


async def test_delete_stream_partial_and_all_failed() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_lead(f"L{i}") for i in range(3)]
        mixed = await drain(crm.records.delete_stream("Leads", [ids[0], UNKNOWN_ID, ids[1]]))
        failed = await drain(crm.records.delete_stream("Leads", [ids[0], UNKNOWN_ID]))
        assert codes(mixed) == ["SUCCESS", "INVALID_DATA", "SUCCESS"]
        assert codes(failed) == ["INVALID_DATA"] * 2
        assert [record.id for record in fake.world.records_of("Leads")] == [ids[2]]


async def test_delete_stream_replayed_after_lost_answers_is_read_back_as_deleted() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        ids = [fake.add_lead(f"L{i}") for i in range(250)]
        lose.arm(fake)
        seen = await drain(crm.records.delete_stream("Leads", iter(ids)))
        assert set(codes(seen)) == {"SUCCESS"} and fake.stats.lost_responses > 0
        assert any(result.details.get("verified") for result in seen.values())
        assert not fake.world.records_of("Leads")


# -- bad input: an argument before any request, a bad item alone ------------------------------------------------

STREAMS: list[tuple[str, Callable[[Any], Any]]] = [
    ("insert trigger", lambda crm: crm.records.insert_stream("Contacts", people(2), trigger=["everything"])),
    ("update trigger", lambda crm: crm.records.update_stream("Contacts", [{"id": "1"}], trigger="workflow")),
    ("upsert check fields", lambda crm: crm.records.upsert_stream("Contacts", people(2), duplicate_check_fields=[])),
    ("upsert trigger", lambda crm: crm.records.upsert_stream("Contacts", people(2), trigger=["nope"])),
]


@pytest.mark.parametrize("make", [make for _, make in STREAMS], ids=[name for name, _ in STREAMS])
async def test_stream_arguments_are_refused_before_any_request(make: Callable[[Any], Any]) -> None:
    async with fake_and_client() as (fake, crm):
        with pytest.raises(ValueError):
            await drain(make(crm))
        assert sent(fake) == 0


ITEMS: list[tuple[str, Callable[[Any], Any], str]] = [
    ("insert not a mapping", lambda crm: crm.records.insert_stream("Contacts", [3, "x"]), "expected a mapping"),
    ("insert no lookup value", lambda crm: crm.records.insert_stream("Contacts", [{"Last_Name": "a"}],
                                                                     lookup_field="Email"), "lookup_field"),
    ("update without id", lambda crm: crm.records.update_stream("Contacts", [{"Last_Name": "a"}]), "'id'"),
    ("upsert without a check value", lambda crm: crm.records.upsert_stream("Contacts", [{"Last_Name": "a"}]),
     "duplicate-check fields"),
    ("delete bad id", lambda crm: crm.records.delete_stream("Leads", ["12a", "1 or 1"]), "a record id is digits"),
]


@pytest.mark.parametrize(("make", "said"), [(m, s) for _, m, s in ITEMS], ids=[name for name, _, _ in ITEMS])
async def test_stream_bad_items_come_out_invalid_with_nothing_sent(make: Callable[[Any], Any], said: str) -> None:
    async with fake_and_client() as (fake, crm):
        seen = await drain(make(crm))
        assert seen and set(codes(seen)) == {"INVALID_ITEM"}
        assert all(said in result.message for result in seen.values()), [r.message for r in seen.values()]
        assert sent(fake) == 0
