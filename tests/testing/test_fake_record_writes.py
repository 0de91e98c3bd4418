"""FakeZoho's Insert, Update, Upsert and Delete Records, sent raw: Zoho's shapes, statuses, limits and costs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeZoho, Call]]:
    async with FakeZoho() as fake, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}

        async def call(method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
            async with http.request(method, f"{fake.url}/crm/v8{path}", json=body, headers=headers, **kw) as answer:
                raw = await answer.read()
                return answer.status, json.loads(raw) if raw else None

        yield fake, call


def contact(n: int, **over: Any) -> dict[str, Any]:
    return {"Last_Name": f"Person {n}", "Email": f"p{n}@example.net", **over}


async def test_insert_answers_201_with_each_record_id_and_stores_the_fields(served: Any) -> None:
    fake, call = served
    status, answer = await call("POST", "/Contacts", {"data": [contact(1, First_Name="Ada"), contact(2)]})

    assert status == 201
    assert [item["code"] for item in answer["data"]] == ["SUCCESS", "SUCCESS"]
    assert [item["message"] for item in answer["data"]] == ["record added"] * 2
    ids = [item["details"]["id"] for item in answer["data"]]
    record = fake.world.record(ids[0], "Contacts")
    assert (record.name, record.email, record.fields["First_Name"]) == ("Person 1", "p1@example.net", "Ada")
    assert dict(fake.stats.record_writes) == {ids[0]: 1, ids[1]: 1}
    status, page = await call("GET", "/Contacts", params={"fields": "Last_Name,First_Name", "ids": ids[0]})
    assert {"Last_Name": "Person 1", "First_Name": "Ada"}.items() <= page["data"][-1].items()


async def test_insert_mixed_is_207_and_errors_name_their_field_by_json_path(served: Any) -> None:
    fake, call = served
    fake.add_contact("Taken", "t@example.net", external_id="ext-1")
    body = {"data": [contact(1), {"Email": "x@example.net"}, contact(3, External_Contact_ID="ext-1"),
                     contact(4, Email="not-an-email")]}  # fmt: skip

    status, answer = await call("POST", "/Contacts", body)

    assert status == 207
    assert [item["code"] for item in answer["data"]] == ["SUCCESS", "MANDATORY_NOT_FOUND", "DUPLICATE_DATA",
                                                         "INVALID_DATA"]  # fmt: skip
    assert answer["data"][1]["details"] == {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"}
    duplicate = answer["data"][2]["details"]
    assert duplicate["json_path"] == "$.data[2].External_Contact_ID"
    assert duplicate["duplicate_record"]["id"] == fake.world.by_external("Contacts", "ext-1").id
    assert duplicate["duplicate_record"]["module"]["api_name"] == "Contacts"
    assert answer["data"][3]["details"]["expected_data_type"] == "email"
    assert len(fake.world.records_of("Contacts")) == 2  # the taken one and item 0


async def test_every_item_failed_is_400_with_the_flat_data_array(served: Any) -> None:
    fake, call = served
    status, answer = await call("POST", "/Deals", {"data": [{"Deal_Name": "No stage"}, {"Stage": "Qualification"}]})

    assert status == 400
    assert [(i["code"], i["details"]["api_name"]) for i in answer["data"]] == [
        ("MANDATORY_NOT_FOUND", "Stage"), ("MANDATORY_NOT_FOUND", "Deal_Name")]  # fmt: skip
    assert not fake.world.records_of("Deals")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "MANDATORY_NOT_FOUND"),
        ({"data": []}, 400, "INVALID_DATA"),
        ({"data": {"Last_Name": "x"}}, 400, "INVALID_DATA"),
        ({"data": [{"Last_Name": "x"}], "trigger": ["everything"]}, 400, "INVALID_DATA"),
    ],
    ids=["no data", "empty data", "data not an array", "unknown trigger"],
)
async def test_a_bad_body_is_refused_whole(served: Any, body: Any, status: int, code: str) -> None:
    fake, call = served
    got, answer = await call("POST", "/Contacts", body)
    assert (got, answer["code"]) == (status, code)
    assert not fake.world.records_of("Contacts")


async def test_more_than_100_records_is_limit_exceeded_and_nothing_is_written(served: Any) -> None:
    fake, call = served
    status, answer = await call("POST", "/Contacts", {"data": [contact(i) for i in range(101)]})

    assert status == 400
    assert answer == {"data": [{"code": "LIMIT_EXCEEDED", "details": {"maximum_length": 100, "api_name": "data"},
                                "message": "Record count exceeded", "status": "error"}]}  # fmt: skip
    assert not fake.world.records_of("Contacts")


async def test_writes_cost_one_credit_per_ten_records(served: Any) -> None:
    fake, call = served
    await call("POST", "/Contacts", {"data": [contact(i) for i in range(100)]})
    await call("POST", "/Contacts", {"data": [contact(100 + i) for i in range(11)]})
    await call("POST", "/Contacts", {"data": [contact(200)]})
    assert fake.credits_used == 10 + 2 + 1


async def test_update_names_records_by_id_and_refuses_unknown_ones(served: Any) -> None:
    fake, call = served
    first = fake.add_contact("Old", "old@example.net")
    body = {"data": [{"id": first, "Last_Name": "New"}, {"Last_Name": "No id"}, {"id": "5843104000999999999"},
                     {"id": first, "Last_Name": ""}]}  # fmt: skip

    status, answer = await call("PUT", "/Contacts", body)

    assert status == 207
    assert [(i["code"], i["details"].get("json_path")) for i in answer["data"]] == [
        ("SUCCESS", None), ("MANDATORY_NOT_FOUND", "$.data[1].id"), ("INVALID_DATA", "$.data[2].id"),
        ("MANDATORY_NOT_FOUND", "$.data[3].Last_Name")]  # fmt: skip
    assert answer["data"][0]["details"]["id"] == first
    assert answer["data"][0]["message"] == "record updated"
    assert fake.world.record(first).name == "New"


async def test_upsert_updates_by_the_duplicate_check_field_and_inserts_the_rest(served: Any) -> None:
    fake, call = served
    known = fake.add_contact("Known", "Known@Example.net")
    body = {"data": [contact(1, Email="known@example.net"), contact(2)], "trigger": []}

    status, answer = await call("POST", "/Contacts/upsert", body)

    assert status == 200
    update, insert = answer["data"]
    assert (update["action"], update["duplicate_field"], update["details"]["id"]) == ("update", "Email", known)
    assert (insert["action"], insert["duplicate_field"]) == ("insert", None)
    assert fake.world.record(known).name == "Person 1"
    assert len(fake.world.records_of("Contacts")) == 2
    assert fake.stats.workflow_runs == 0  # trigger [] runs none

    status, replay = await call("POST", "/Contacts/upsert", body)
    assert (status, [i["action"] for i in replay["data"]]) == (200, ["update", "update"])  # a replay creates none
    assert len(fake.world.records_of("Contacts")) == 2


async def test_upsert_by_named_fields_only_and_refuses_a_field_that_is_not_unique(served: Any) -> None:
    fake, call = served
    known = fake.add_contact("Known", "known@example.net", external_id="ext-7")
    status, answer = await call("POST", "/Contacts/upsert", {
        "data": [contact(1, Email="known@example.net", External_Contact_ID="ext-8")],
        "duplicate_check_fields": ["External_Contact_ID"]})  # fmt: skip
    assert (status, answer["data"][0]["action"]) == (200, "insert")
    assert fake.world.record(known).name == "Known"

    status, answer = await call("POST", "/Contacts/upsert", {"data": [contact(2)], "duplicate_check_fields": ["Phone"]})
    assert (status, answer["code"], answer["details"]["json_path"]) == (400, "INVALID_DATA", "$.duplicate_check_fields")


async def test_delete_answers_by_id_and_honours_wf_trigger(served: Any) -> None:
    fake, call = served
    ids = [fake.add_lead(f"L{i}") for i in range(3)]

    status, answer = await call("DELETE", "/Leads", params={"ids": f"{ids[0]},{ids[1]},5843104000999999999",
                                                            "wf_trigger": "false"})  # fmt: skip

    assert status == 207
    assert answer["data"] == [
        {"code": "SUCCESS", "details": {"id": ids[0]}, "message": "record deleted", "status": "success"},
        {"code": "SUCCESS", "details": {"id": ids[1]}, "message": "record deleted", "status": "success"},
        {"code": "INVALID_DATA", "details": {"id": "5843104000999999999"}, "message": "record not deleted",
         "status": "error"},
    ]  # fmt: skip
    assert [r.id for r in fake.world.records_of("Leads")] == [ids[2]]
    assert fake.stats.workflow_runs == 0
    status, answer = await call("DELETE", "/Leads", params={"ids": ",".join([ids[2]] * 101)})
    assert (status, answer["code"]) == (400, "LIMIT_EXCEEDED")
    status, answer = await call("DELETE", "/Leads")
    assert (status, answer["code"]) == (400, "REQUIRED_PARAM_MISSING")
    assert [r.id for r in fake.world.records_of("Leads")] == [ids[2]]


async def test_an_unknown_module_is_invalid_module(served: Any) -> None:
    _, call = served
    status, answer = await call("POST", "/Widgets", {"data": [{"Name": "x"}]})
    assert (status, answer["code"]) == (400, "INVALID_MODULE")
