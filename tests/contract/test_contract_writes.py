"""Zoho's OpenAPI files judge the record writes: every Insert, Update, Upsert and Delete Records body (and Delete's
query) the client builds, every answer FakeZoho gives them, and the reads a lost answer is settled by (COQL, Get
Record): success, mixed, every item failed, the size limits, unknown modules and bad bodies.

record.json lists one answer for each write, a ``oneOf`` of the ``data`` wrapper and ``API_Exception`` whose
branches have no required keys: every answer satisfies both, so ``oneOf`` refuses them all. An answer is checked
against the branch its own keys choose (``data``, or a top-level ``code``), with the keys each branch always has
required. Where Zoho's own sources disagree, the schema is widened in one named place below (``_widen_*``), each
with the source that widens it; where a doc page is stricter than the file (100 records a call, the trigger
names), the request is held to the page (``_narrow_body``). Skipped, with that reason, only where the OpenAPI
files are not beside the clone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from tests.contract import oas
from tests.contract import test_contract_reads as reads
from tests.contract.test_contract import Recorder
from tests.fakes import fake_and_client
from zcrm_async import ZohoCRM
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

_JSON = ("content", "application/json", "schema")
_RECORDS = "/crm/v8/{module_api_name}"
_WRITE = re.compile(r"^/(?P<module>\w+)(?P<upsert>/upsert)?$")
_ENTRY_KEYS = ["code", "details", "message", "status"]  # every entry of the doc pages' answers has all four
_ALL_RUN = ["workflow", "approval", "blueprint", "pathfinder", "orchestration"]


class LoseUntilBackoff:
    """Every write's answer is lost (applied, unanswered) until the client first backs off to retry."""

    def __init__(self) -> None:
        self.fake: FakeZoho | None = None

    async def __call__(self, delay: float) -> None:
        assert self.fake is not None
        self.fake.set_faults(lost_response_rate=0.0)



@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeZoho, ZohoCRM, Recorder]]:
    recorder = Recorder()
    lose = LoseUntilBackoff()
    async with fake_and_client(transport=recorder, sleep=lose) as (fake, crm):
        lose.fake = fake  # answers are lost only where a test turns the loss on
        yield fake, crm, recorder
    await recorder.aclose()


# -- the schemas ---------------------------------------------------------------------------------------------


def _widen_success(schema: dict[str, Any]) -> None:
    """The Upsert Records page's sample answers ``duplicate_field: null`` for a record it inserted (record.json:
    a string; the newer crm-oas example names a field even then)."""
    schema["properties"]["duplicate_field"] = {"type": ["string", "null"]}
    schema["required"] = list(_ENTRY_KEYS)


def _widen_error(schema: dict[str, Any]) -> None:
    """The crm-oas Update Records example of LIMIT_EXCEEDED gives ``maximum_length`` as a number (100); record.json
    types it a string. The doc pages' DUPLICATE_DATA carries ``more_records`` (a boolean) beside
    ``duplicate_record``, which record.json's open ``details`` already allows."""
    details = schema["properties"]["details"]
    details["properties"]["maximum_length"] = {"type": ["string", "integer"]}
    schema["required"] = list(_ENTRY_KEYS)


def _narrow_body(schema: dict[str, Any]) -> None:
    """The Insert Records page: ``data`` is required and holds at most 100 records; ``trigger`` names only
    workflow, approval, blueprint, pathfinder, orchestration (crm-oas upsertRecords' enum)."""
    schema["required"] = ["data"]
    schema["properties"]["data"] = {**schema["properties"]["data"], "minItems": 1, "maxItems": 100}
    schema["properties"]["trigger"]["items"] = {"enum": _ALL_RUN}


def _entry(upsert: bool) -> dict[str, Any]:
    success = oas.resolve("record.json", "components", "schemas", "Success_Response")
    _widen_success(success)
    if upsert:  # crm-oas upsertRecords' 200/207: both required on an upsert's success
        success["required"] += ["action", "duplicate_field"]
    error = oas.resolve("record.json", "components", "schemas", "API_Exception")
    _widen_error(error)
    reads._widen_record_errors(error)  # the doc pages' codes beyond record.json's list
    return {"oneOf": [success, error]}


def answer_validator(method: str, path: str, answer: Any) -> Any:
    """The branch of the write's answer its own keys choose (see the module docstring), as strict as it can be."""
    upsert = path.endswith("/upsert")
    url = f"{_RECORDS}/upsert" if upsert else _RECORDS
    node = oas.resolve("record.json", "paths", url, method.lower(), "responses", "200", *_JSON)
    wrapper, exception = node["oneOf"]
    if isinstance(answer, dict) and "data" in answer:
        wrapper = oas.deref(wrapper)
        wrapper["properties"]["data"] = {**wrapper["properties"]["data"], "items": _entry(upsert)}
        wrapper["required"] = ["data"]
        return oas.validator_for(wrapper)
    error = oas.deref(exception)
    _widen_error(error)
    reads._widen_record_errors(error)
    return oas.validator_for(error)


def body_validator() -> Any:
    node = oas.resolve("record.json", "components", "schemas", "Body_Wrapper")
    _narrow_body(node)
    return oas.validator_for(node)


def _is_write(method: str, path: str) -> bool:
    match = _WRITE.match(path)
    if match is None or path == "/coql":  # Execute COQL Query is a read, at a path shaped like a module's
        return False
    return (method, bool(match["upsert"])) in {("POST", False), ("PUT", False), ("DELETE", False), ("POST", True)}


def _delete_params(method: str, path: str, params: dict[str, str]) -> list[str]:
    problems = reads._param_problems(method, path, params)
    ids = params.get("ids", "")
    if len(ids.split(",")) > 100 or not all(part.isdigit() for part in ids.split(",")):
        problems.append(f"DELETE {path}: ids must be 1-100 record ids (Delete Records page), got {ids[:60]!r}")
    return problems


def assert_contract(recorder: Recorder, *, requests: bool = True) -> dict[str, int]:
    """Validate every recorded request (unless ``requests`` is False: sent raw on purpose) and answer; returns
    how many exchanges of each kind (write, read) were checked."""
    problems: list[str] = []
    checked = {"write": 0, "read": 0}
    bodies = body_validator()
    for request, response in [(q, a) for q, a in recorder.exchanges if "/crm/v8/" in q.url]:
        path = request.url.split("/crm/v8", 1)[-1]
        if not _is_write(request.method, path):
            checked["read"] += 1
            problems += _read_problems(request, response, path, requests=requests)
            continue
        checked["write"] += 1
        if requests and request.method == "DELETE":
            problems += _delete_params(request.method, path, dict(request.params or {}))
        elif requests:
            body = msgspec.json.decode(request.content or b"null")
            problems += [f"body of {request.method} {path}: {p}" for p in oas.check(bodies, body)]
        answer = msgspec.json.decode(response.content)
        validator = answer_validator(request.method, path, answer)
        problems += [f"answer {response.status} to {request.method} {path}: {p}" for p in oas.check(validator, answer)]
    assert not problems, "\n".join(problems[:20])
    return checked


def _read_problems(request: Any, response: Any, path: str, *, requests: bool) -> list[str]:
    """A read the writes made (a lost insert looked up by COQL, a lost delete read back), judged as the reads
    contract judges them."""
    problems: list[str] = []
    if requests and path == "/coql":
        body = msgspec.json.decode(request.content or b"null")
        problems += [f"COQL body: {p}" for p in oas.check(oas.validator("coql.json", "components", "schemas",
                                                                        "Body_Wrapper"), body)]  # fmt: skip
    elif requests:
        problems += reads._param_problems(request.method, path, dict(request.params or {}))
    if response.status == 204:
        return problems
    answer = msgspec.json.decode(response.content)
    validator = reads.response_validator(request.method, path, response.status)
    where = f"answer {response.status} to {request.method} {path}"
    return [*problems, *(f"{where}: {p}" for p in oas.check(validator, answer))]


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"Person {n}", "Email": f"p{n}@example.net", "External_Contact_ID": f"ext-{n}"}
            for n in range(start, start + count)]  # fmt: skip


def codes(result: Any) -> list[str]:
    return [item.code for item in result]


def statuses(recorder: Recorder) -> set[int]:
    return {answer.status for request, answer in recorder.exchanges if _is_write(request.method, _path(request))}


def _path(request: Any) -> str:
    return str(request.url).split("/crm/v8", 1)[-1]


# -- what the client sends, and what the fake answers to it ---------------------------------------------


async def test_insert_success_mixed_and_all_failed_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    fake.add_contact("Taken", "taken@example.net", external_id="ext-1")
    mixed = people(4)
    del mixed[2]["Last_Name"]

    ok = await crm.records.insert("Contacts", people(230, start=10), trigger=["workflow", "approval"])
    partial = await crm.records.insert("Contacts", mixed, trigger=[])
    failed = await crm.records.insert("Deals", [{"Deal_Name": "A"}, {"Deal_Name": "B"}])

    assert ok.ok and codes(partial) == ["SUCCESS", "DUPLICATE_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
    assert codes(failed) == ["MANDATORY_NOT_FOUND"] * 2
    assert {201, 207, 400} <= statuses(recorder)
    assert assert_contract(recorder) == {"write": 3 + 1 + 1, "read": 0}


async def test_update_and_upsert_keep_the_contract_including_a_null_duplicate_field(world: Any) -> None:
    fake, crm, recorder = world
    ids = [fake.add_contact(f"C{i}", f"c{i}@example.net") for i in range(3)]
    rows = [{"id": ids[0], "Last_Name": "New 0"}, {"id": "5843104000999999999", "Last_Name": "x"},
            {"id": ids[2], "Last_Name": ""}, {"id": ids[1], "First_Name": "Ada"}]  # fmt: skip
    upserts = [{"Last_Name": "Fresh", "Email": "fresh@example.net"}, {"Last_Name": "Again", "Email": "c0@example.net"},
               {"Email": "nameless@example.net"}]  # fmt: skip

    updated = await crm.records.update("Contacts", rows, trigger=["blueprint"])
    all_failed = await crm.records.update("Contacts", rows[1:3])
    upserted = await crm.records.upsert("Contacts", upserts, duplicate_check_fields=["Email"])
    by_default = await crm.records.upsert("Contacts", people(150))

    assert codes(updated) == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
    assert codes(all_failed) == ["INVALID_DATA", "MANDATORY_NOT_FOUND"]
    assert codes(upserted) == ["SUCCESS", "SUCCESS", "MANDATORY_NOT_FOUND"]
    assert upserted[0].details["action"] == "insert" and upserted[0].details["duplicate_field"] is None
    assert upserted[1].details["action"] == "update" and upserted[1].details["duplicate_field"] == "Email"
    assert by_default.ok
    assert {200, 207, 400} <= statuses(recorder)
    assert assert_contract(recorder) == {"write": 1 + 1 + 1 + 2, "read": 0}


async def test_delete_query_and_answers_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    ids = [fake.add_lead(f"L{i}") for i in range(150)]

    result = await crm.records.delete("Leads", [*ids, "5843104000999999999"], wf_trigger=False)
    again = await crm.records.delete("Leads", ids[:2], wf_trigger=True)

    assert codes(result) == ["SUCCESS"] * 150 + ["INVALID_DATA"]
    assert codes(again) == ["INVALID_DATA"] * 2
    assert {200, 207, 400} <= statuses(recorder)
    assert assert_contract(recorder) == {"write": 3, "read": 0}


async def test_lost_answers_and_their_read_backs_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    ids = [fake.add_lead(f"L{i}") for i in range(120)]

    fake.set_faults(lost_response_rate=1.0)  # until the client's first backoff (the fixture's sleep)
    inserted = await crm.records.insert("Contacts", people(120), lookup_field="External_Contact_ID")
    fake.set_faults(lost_response_rate=1.0)
    deleted = await crm.records.delete("Leads", ids)

    assert inserted.ok and deleted.ok
    assert any(item.details.get("verified") for item in inserted)
    assert any(item.details.get("verified") for item in deleted)
    checked = assert_contract(recorder)
    coql = [q for q, _ in recorder.exchanges if _path(q) == "/coql"]
    reads_back = [q for q, _ in recorder.exchanges if q.method == "GET" and _path(q).startswith("/Leads/")]
    assert coql and reads_back and checked["read"] == len(coql) + len(reads_back)


# -- answers the client never provokes: sent raw -------------------------------------------------------


async def test_refusals_of_bodies_the_client_never_sends_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    one = {"Last_Name": "A", "Email": "a@example.net"}
    many = ",".join(str(5843104000000000000 + n) for n in range(101))
    calls: list[tuple[str, str, Any, dict[str, str] | None]] = [
        ("POST", "/Contacts", {"data": [one] * 101}, None),
        ("POST", "/Contacts/upsert", {"data": [one] * 101}, None),
        ("PUT", "/Contacts", {"data": [{"id": "1"}] * 101}, None),
        ("POST", "/Contacts", {"records": [one]}, None),
        ("POST", "/Contacts", {"data": []}, None),
        ("POST", "/Contacts", {"data": [one], "trigger": ["everything"]}, None),
        ("POST", "/Contacts/upsert", {"data": [one], "duplicate_check_fields": ["Last_Name"]}, None),
        ("POST", "/Nowhere", {"data": [one]}, None),
        ("DELETE", "/Leads", None, {"ids": many}),
        ("DELETE", "/Leads", None, {}),
        ("DELETE", "/Leads", None, {"ids": "1", "wf_trigger": "maybe"}),
    ]
    for method, path, body, params in calls:
        content = None if body is None else msgspec.json.encode(body)
        response = await crm.request(method, path, operation="records.insert", content=content, params=params)
        assert response.status == 400, (method, path, response.content[:200])
    assert not fake.world.records_of("Contacts")
    assert assert_contract(recorder, requests=False) == {"write": len(calls), "read": 0}
