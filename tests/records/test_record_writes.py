"""Insert, Update, Upsert and Delete Records through the real transport against FakeZoho: success, partial failure,
all failed, lost answers (the fake applies the write and drops the answer) and bad input (nothing sent)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes import fake_and_client
from zcrm_async import Budget
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Person {n}", "Email": f"p{n}@example.net", "External_Contact_ID": f"ext-{n}"}
            for n in range(start, start + count)]  # fmt: skip


def emails_of(fake: FakeZoho) -> list[str | None]:
    return sorted(record.email or "" for record in fake.world.records_of("Contacts"))


class LoseUntilBackoff:
    """Every write's answer is lost (applied, unanswered) until the client first backs off to retry: then the
    fake answers again. A client ``sleep`` that turns the fault off makes "some answers lost" certain, not likely."""

    def __init__(self) -> None:
        self.fake: FakeZoho | None = None

    async def __call__(self, delay: float) -> None:
        assert self.fake is not None
        self.fake.set_faults(lost_response_rate=0.0)

    def arm(self, fake: FakeZoho) -> None:
        self.fake = fake
        fake.set_faults(lost_response_rate=1.0)


def codes(result: Any) -> list[str]:
    return [item.code for item in result]


# -- insert ---------------------------------------------------------------------------------------------------


async def test_insert_250_records_takes_three_requests_priced_per_ten_and_keeps_input_order() -> None:
    async with fake_and_client() as (fake, crm):
        result = await crm.records.insert("Contacts", people(250), trigger=["approval"])

        assert result.ok and len(result) == 250
        assert fake.stats.requests["insert_records"] == 3
        assert fake.credits_used == 10 + 10 + 5 == crm.counters.credits_spent
        for n, item in enumerate(result):
            record = fake.world.record(item.details["id"], "Contacts")
            assert record is not None and record.email == f"p{n}@example.net"
        assert set(fake.stats.record_writes.values()) == {1}
        assert fake.stats.workflow_runs == 0  # trigger named approval only


async def test_insert_partial_failure_places_each_error_by_its_json_path() -> None:
    async with fake_and_client() as (fake, crm):
        fake.add_contact("Taken", "taken@example.net", external_id="ext-1")
        rows = people(4)
        del rows[2]["Last_Name"]

        result = await crm.records.insert("Contacts", rows)

        assert codes(result) == ["SUCCESS", "DUPLICATE_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
        assert result[1].details["duplicate_record"]["id"] == fake.world.by_external("Contacts", "ext-1").id
        assert result[2].details["api_name"] == "Last_Name"
        assert fake.world.record(result[3].details["id"]).email == "p3@example.net"


async def test_insert_all_failed_is_a_value_not_an_exception() -> None:
    async with fake_and_client() as (fake, crm):
        result = await crm.records.insert("Deals", [{"Deal_Name": "A"}, {"Deal_Name": "B"}])
        assert codes(result) == ["MANDATORY_NOT_FOUND"] * 2
        assert not result.ok and not fake.world.records_of("Deals")


async def test_insert_with_lost_answers_and_a_lookup_field_makes_each_record_once() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        result = await crm.records.insert("Contacts", people(300), lookup_field="External_Contact_ID")

        assert result.ok, result.counts
        assert fake.stats.lost_responses > 0
        assert emails_of(fake) == sorted(f"p{n}@example.net" for n in range(300))  # none twice
        assert set(fake.stats.record_writes.values()) == {1}
        found = [item for item in result if item.details.get("verified")]
        assert found, "some records were settled by reading them back"
        for n, item in enumerate(result):
            assert fake.world.record(item.details["id"]).email == f"p{n}@example.net"


async def test_insert_with_lost_answers_and_no_lookup_field_never_sends_twice() -> None:
    async with fake_and_client(FakeConfig(lost_response_rate=1.0)) as (fake, crm):
        result = await crm.records.insert("Contacts", people(20))

        assert codes(result) == ["TRANSPORT_ERROR"] * 20
        assert all(item.details["in_doubt"] for item in result)
        assert fake.stats.requests["insert_records"] == 1
        assert len(fake.world.records_of("Contacts")) == 20  # applied once, reported in doubt


# -- update ---------------------------------------------------------------------------------------------------


async def test_update_matches_results_by_id_partial_and_all_failed() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_contact(f"C{i}", f"c{i}@example.net") for i in range(3)]
        rows = [{"id": ids[0], "Last_Name": "New 0"}, {"id": "5843104000999999999", "Last_Name": "x"},
                {"id": ids[2], "Last_Name": ""}, {"id": ids[1], "First_Name": "Ada"}]  # fmt: skip

        mixed = await crm.records.update("Contacts", rows)
        failed = await crm.records.update("Contacts", rows[1:3])

        assert codes(mixed) == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
        assert [mixed[0].details["id"], mixed[3].details["id"]] == [ids[0], ids[1]]
        assert codes(failed) == ["INVALID_DATA", "MANDATORY_NOT_FOUND"]
        assert fake.world.record(ids[0]).name == "New 0"
        assert fake.world.record(ids[1]).fields["First_Name"] == "Ada"


async def test_update_replayed_after_lost_answers_ends_with_the_values_sent() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        ids = [fake.add_contact(f"C{i}", f"c{i}@example.net") for i in range(150)]
        result = await crm.records.update("Contacts", [{"id": i, "Last_Name": f"N{i}"} for i in ids])
        assert result.ok
        assert fake.stats.lost_responses > 0
        assert all(fake.world.record(i).name == f"N{i}" for i in ids)


# -- upsert ---------------------------------------------------------------------------------------------------


async def test_upsert_reports_insert_or_update_and_the_matching_field() -> None:
    async with fake_and_client() as (fake, crm):
        known = fake.add_contact("Known", "p1@example.net")
        rows = people(3)
        rows[2].pop("Last_Name")  # a new record without its mandatory field

        result = await crm.records.upsert("Contacts", rows, duplicate_check_fields=["Email"])

        assert codes(result) == ["SUCCESS", "SUCCESS", "MANDATORY_NOT_FOUND"]
        assert [r.details.get("action") for r in result[:2]] == ["insert", "update"]
        assert (result[1].details["id"], result[1].details["duplicate_field"]) == (known, "Email")
        assert fake.world.record(known).name == "Person 1"


@pytest.mark.parametrize(
    ("count", "credits"), [(1, 1), (9, 1), (10, 1), (11, 2), (100, 10), (101, 10 + 1), (250, 10 + 10 + 5)]
)
async def test_the_budget_counts_zohos_price_for_an_upsert_1_credit_per_10_records(count: int, credits: int) -> None:
    """"API Limits": Insert, Update and Upsert Records cost 1 credit per 10 records of a call (at least 1), 100
    records a call; the client's own counter and the fake's agree with it."""
    async with fake_and_client() as (fake, crm):
        fake.add_contact("Known", "p0@example.net")
        result = await crm.records.upsert("Contacts", people(count), duplicate_check_fields=["Email"])

        assert result.ok and result[0].details["action"] == "update"
        assert crm.counters.credits_spent == fake.credits_used == credits
        assert fake.stats.requests["upsert_records"] == -(-count // 100)


async def test_upsert_all_failed() -> None:
    async with fake_and_client() as (_, crm):
        result = await crm.records.upsert("Contacts", [{"Email": "a@example.net"}, {"Email": "b@example.net"}])
        assert codes(result) == ["MANDATORY_NOT_FOUND"] * 2


async def test_upsert_replayed_after_lost_answers_creates_no_duplicate() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        result = await crm.records.upsert("Contacts", people(400), duplicate_check_fields=["Email"])

        assert result.ok, result.counts
        assert fake.stats.lost_responses > 0
        assert emails_of(fake) == sorted(f"p{n}@example.net" for n in range(400))
        replayed = [item for item in result if item.attempts > 1]
        assert replayed and {item.details["action"] for item in replayed} <= {"insert", "update"}


# -- delete ---------------------------------------------------------------------------------------------------


async def test_delete_by_ids_partial_all_failed_and_wf_trigger() -> None:
    async with fake_and_client() as (fake, crm):
        ids = [fake.add_lead(f"L{i}") for i in range(150)]

        result = await crm.records.delete("Leads", [*ids, "5843104000999999999"], wf_trigger=False)
        again = await crm.records.delete("Leads", ids[:2])

        assert codes(result) == ["SUCCESS"] * 150 + ["INVALID_DATA"]
        assert [item.details["id"] for item in result[:150]] == ids
        assert codes(again) == ["INVALID_DATA"] * 2
        assert not fake.world.records_of("Leads")
        assert fake.stats.requests["delete_records"] == 3 and fake.stats.workflow_runs == 0


async def test_delete_replayed_after_lost_answers_is_read_back_as_deleted() -> None:
    lose = LoseUntilBackoff()
    async with fake_and_client(sleep=lose) as (fake, crm):
        lose.arm(fake)
        ids = [fake.add_lead(f"L{i}") for i in range(300)]
        result = await crm.records.delete("Leads", ids)
        assert result.ok, result.counts
        assert fake.stats.lost_responses > 0
        assert [item for item in result if item.details.get("verified")]
        assert not fake.world.records_of("Leads")


# -- bad input: a clear error before any request ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda crm: crm.records.insert("Contacts", []), "empty"),
        (lambda crm: crm.records.insert("Contacts", [{"Last_Name": "a"}, 3]), "item 1: expected a mapping"),
        (lambda crm: crm.records.insert("Contacts", [{"Last_Name": "a"}], trigger=["everything"]), "trigger"),
        (lambda crm: crm.records.insert("Contacts", [{"Last_Name": "a"}], lookup_field="Email"), "lookup_field"),
        (lambda crm: crm.records.insert("Contacts", [{"Email": "a@x.io"}] * 2, lookup_field="Email"), "repeats"),
        (lambda crm: crm.records.update("Contacts", [{"Last_Name": "a"}]), "'id'"),
        (lambda crm: crm.records.upsert("Contacts", [{"Last_Name": "a"}]), "duplicate-check fields (Email)"),
        (lambda crm: crm.records.upsert("Contacts", [{"Email": "a@x.io"}], duplicate_check_fields="Email"),
         "non-empty list"),
        (lambda crm: crm.records.delete("Leads", ["12", "abc"]), "item 1: a record id is digits"),
    ],
    ids=["empty", "not a mapping", "unknown trigger", "no lookup value", "repeated lookup value", "update without id",
         "upsert without a check value", "check fields as a string", "bad id"],
)
async def test_bad_input_is_refused_before_any_request(call: Any, message: str) -> None:
    async with fake_and_client() as (fake, crm):
        with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
            await call(crm)
        assert sum(count for name, count in fake.stats.requests.items() if name != "token") == 0


async def test_streaming_forms_give_every_index_once_and_refuse_bad_items_alone() -> None:
    async with fake_and_client(budget=Budget(concurrency=4)) as (fake, crm):
        rows: list[Any] = people(230)
        rows[7] = {"Last_Name": "no email"}  # upsert cannot find it again after a lost answer: refused
        seen: dict[int, str] = {}
        async with crm.records.upsert_stream("Contacts", iter(rows)) as stream:
            async for index, result in stream:
                assert index not in seen
                seen[index] = result.code
        assert sorted(seen) == list(range(230))
        assert seen[7] == "INVALID_ITEM" and {c for i, c in seen.items() if i != 7} == {"SUCCESS"}
        assert len(fake.world.records_of("Contacts")) == 229

        deleted: list[int] = []
        ids = [r.id for r in fake.world.records_of("Contacts")]
        async with crm.records.delete_stream("Contacts", ids) as stream:
            deleted += [index async for index, result in stream if result.ok]
        assert sorted(deleted) == list(range(229)) and not fake.world.records_of("Contacts")


async def test_writes_over_ten_records_hold_the_heavy_sub_concurrency() -> None:
    async with fake_and_client(budget=Budget(concurrency=20, heavy_concurrency=2)) as (fake, crm):
        fake.set_faults(latency=0.02)
        result = await crm.records.insert("Contacts", people(1000))  # 10 requests of 100 records: heavy
        assert result.ok
        assert fake.stats.max_in_flight <= 2
        assert fake.stats.throttled_429 == 0


def test_the_system_duplicate_check_field_is_the_one_zohos_upsert_page_names() -> None:
    from zcrm_async.records import system_duplicate_check_field

    assert [system_duplicate_check_field(m) for m in ("Contacts", "Leads", "Accounts", "Deals", "Products")] == [
        "Email", "Email", "Account_Name", "Deal_Name", "Product_Name"]  # fmt: skip
    assert system_duplicate_check_field("Custom_Module") == "Name"
