"""Zoho's OpenAPI files judge the reads: every COQL body the client builds, every query parameter of Get
Record, Get Records by ids, Search Records and Record Count, and every answer FakeZoho gives them.

Where Zoho's own sources disagree, the schema is widened in one named place below (``_widen_*``), each with the
source that widens it. An answer is checked against the branch of its status (the 200's records wrapper, the
400's error shapes): the files list both under one ``oneOf`` whose branches, having no required keys, every
answer satisfies at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from tests.contract import oas
from tests.contract.test_contract import Recorder
from tests.fakes import fake_and_client
from zcrm_async import APIError, ZohoCRM
from zcrm_async.coql import Query, field
from zcrm_async.search import criterion
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

_JSON = ("content", "application/json", "schema")
_RECORDS = "/crm/v8/{module_api_name}"
#: Codes the answers use that the OpenAPI files' error lists lack, each with the page that documents it.
_DOC_CODES = {
    "EXPECTED_PARAM_MISSING": "Search Records page: no search parameter",
    "LIMIT_REACHED": "Search Records page: past 2,000 records",
    "AMBIGUITY_DURING_PROCESSING": "Record Count page (and record_count.json's 400)",
}
_DOC_MESSAGES = ["maximum response iteration limit reached"]  # Search Records page, LIMIT_REACHED


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeZoho, ZohoCRM, Recorder]]:
    recorder = Recorder()
    async with fake_and_client(transport=recorder) as (fake, crm):
        for i in range(450):
            fake.add_contact(name=f"N{i}", email=f"n{i}@example.org" if i % 3 else None)
        yield fake, crm, recorder
    await recorder.aclose()


# -- the schemas ---------------------------------------------------------------------------------------------


def _widen_record_errors(schema: dict[str, Any]) -> None:
    """The doc pages' codes and messages beyond record.json's lists (``_DOC_CODES``, ``_DOC_MESSAGES``)."""
    properties = schema["properties"]
    properties["code"]["enum"] = [*properties["code"]["enum"], *_DOC_CODES]
    properties["message"]["enum"] = [*properties["message"]["enum"], *_DOC_MESSAGES]
    schema["required"] = ["code", "details", "message", "status"]  # every error of the doc pages has all four


def _widen_coql_errors(schema: dict[str, Any]) -> None:
    """coql.json's 400 lists Query_Exception beside the other shapes it overlaps (an INVALID_QUERY or
    SYNTAX_ERROR answer satisfies both, so ``oneOf`` refuses every one): any of them. The crm-oas COQL
    operation adds INVALID_DATA (LIMIT 0), MANDATORY_NOT_FOUND and INVALID_MODULE in the common error shape."""
    crm_oas = {
        "type": "object",
        "properties": {
            "code": {"enum": ["INVALID_DATA", "MANDATORY_NOT_FOUND", "INVALID_MODULE"]},
            "details": {"type": "object"},
            "message": {"type": "string"},
            "status": {"enum": ["error"]},
        },
        "required": ["code", "details", "message", "status"],
    }
    schema["anyOf"] = [*schema.pop("oneOf"), crm_oas]


def _widen_info(schema: dict[str, Any]) -> None:
    """Zoho's Get Records sample answers ``null`` for the page token it has none of (``previous_page_token`` on
    the first page, ``next_page_token`` on the last); record.json types them as strings."""
    info = oas.deref(schema["properties"]["info"])
    for key in ("next_page_token", "previous_page_token"):
        info["properties"][key] = {"type": ["string", "null"]}
    schema["properties"]["info"] = info


def _widen_count(schema: dict[str, Any]) -> None:
    """record.json types ``count`` as a string; the Record Count page's sample and crm-oas give a number."""
    schema["properties"]["count"] = {"type": ["string", "integer"]}
    schema["required"] = ["count"]


def _record_error() -> Any:
    node = oas.resolve("record.json", "components", "schemas", "API_Exception")
    _widen_record_errors(node)
    return oas.validator_for(node)


def response_validator(method: str, path: str, status: int) -> Any:
    if path == "/coql":
        if status == 200:
            return oas.validator("coql.json", "components", "schemas", "Response_Wrapper")
        node = oas.resolve("coql.json", "paths", "/crm/v8/coql", "post", "responses", "400", *_JSON)
        _widen_coql_errors(node)
        return oas.validator_for(node)
    if status != 200:
        if path.endswith("/actions/count") and status == 400:
            node = oas.resolve("record_count.json", "paths", f"{_RECORDS}/actions/count", "get", "responses", "400",
                               *_JSON)  # fmt: skip
            return oas.validator_for({"anyOf": [*node["oneOf"], oas.deref(_record_error().schema)]})
        return _record_error()
    if path.endswith("/actions/count"):
        node = oas.resolve("record.json", "paths", f"{_RECORDS}/actions/count", "get", "responses", "200", *_JSON)
        count = node["oneOf"][0]
        _widen_count(count)
        return oas.validator_for(count)
    node = oas.resolve("record.json", "components", "schemas", "Response_Wrapper")
    _widen_info(node)
    return oas.validator_for(node)


def _operation(method: str, path: str) -> tuple[str, str]:
    """The record.json path and method a client request is an instance of."""
    if path == "/coql":
        return "/crm/v8/coql", "post"
    parts = path.strip("/").split("/")
    if parts[1:] == ["search"]:
        return f"{_RECORDS}/search", "get"
    if parts[1:] == ["actions", "count"]:
        return f"{_RECORDS}/actions/count", "get"
    return (f"{_RECORDS}/{{id}}" if len(parts) == 2 else _RECORDS), method.lower()


def _param_problems(method: str, path: str, params: dict[str, str]) -> list[str]:
    """Each query parameter is one the operation declares, of the declared type."""
    url, verb = _operation(method, path)
    document = oas.document("record.json")
    declared = {}
    for ref in document["paths"][url][verb].get("parameters", []):
        parameter = oas.deref(ref)
        if parameter.get("in") == "query":
            declared[parameter["name"]] = parameter["schema"]
    problems = []
    for name, value in params.items():
        if name not in declared:
            problems.append(f"{method} {path}: query parameter {name!r} is not in record.json")
            continue
        instance: Any = value
        if declared[name].get("type") == "integer":
            instance = int(value) if value.isdigit() else value
        elif declared[name].get("type") == "boolean":  # a query string's true/false (anything else stays text)
            instance = {"true": True, "false": False}.get(value, value)
        problems += [f"{method} {path} {name}: {p}" for p in oas.check(oas.validator_for(declared[name]), instance)]
    return problems


def assert_contract(recorder: Recorder) -> int:
    problems: list[str] = []
    exchanges = [(q, a) for q, a in recorder.exchanges if "/crm/v8/" in q.url]
    body_validator = oas.validator("coql.json", "components", "schemas", "Body_Wrapper")
    for request, response in exchanges:
        path = request.url.split("/crm/v8", 1)[-1]
        if path == "/coql":
            body = msgspec.json.decode(request.content or b"null")
            problems += [f"COQL body: {p}" for p in oas.check(body_validator, body)]
        else:
            problems += _param_problems(request.method, path, dict(request.params or {}))
        if response.status == 204:
            assert not response.content
            continue
        answer = msgspec.json.decode(response.content)
        validator = response_validator(request.method, path, response.status)
        problems += [f"answer {response.status} to {request.method} {path}: {p}" for p in oas.check(validator, answer)]
    assert not problems, "\n".join(problems[:20])
    return len(exchanges)


# -- scenarios -----------------------------------------------------------------------------------------------


async def test_coql_bodies_and_answers_keep_the_contract(world: Any) -> None:
    _, crm, recorder = world
    rows = [r async for r in crm.records.coql(Query("Contacts", ["Last_Name", "Email"]), page_size=100)]
    assert len(rows) == 450
    where = field("Last_Name").eq("O'Brien \\' or 1 = 1") | field("Email").is_null()
    hostile = Query("Contacts", ["Email"], where=where)
    assert len([r async for r in crm.records.coql(hostile)]) == 150
    await crm.records.coql_page(Query("Contacts", ["Email"], where=field("Email").eq("nobody")), limit=10)
    assert assert_contract(recorder) == 9


@pytest.mark.parametrize(
    "query",
    [
        "select Last_Name from Contacts",
        "select Last_Name from Contacts where id is not null limit 0",
        "select Last_Name from Contacts where id is not null limit 2001",
        "select Last_Name from Contacts where id is not null limit 2000 offset 99000",
        "select Nope from Contacts where id is not null",
        "select Last_Name, Last_Name from Contacts where id is not null",
        "select Last_Name from Contacts where (a = 1 and b = 2",
        "select Last_Name from Contacts where id is not null group by Last_Name",
    ],
)
async def test_coql_refusals_keep_the_contract(world: Any, query: str) -> None:
    _, crm, recorder = world
    response = await crm.request(
        "POST", "/coql", operation="coql.up_to_200", content=msgspec.json.encode({"select_query": query})
    )
    assert response.status == 400
    assert assert_contract(recorder) == 1


async def test_search_count_and_get_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    ids = [record.id for record in fake.world.records_of("Contacts")]
    criteria = criterion("Last_Name", "starts_with", "N1") & criterion("Email", "not_equal", "a,(b)\\")
    assert len([r async for r in crm.records.search("Contacts", criteria=criteria, fields=["Email"])]) > 0
    assert [r async for r in crm.records.search("Contacts", email="nobody@example.org")] == []
    assert len([r async for r in crm.records.search("Contacts", word="example", per_page=200)]) == 300
    assert await crm.records.count("Contacts") == 450
    assert await crm.records.count("Contacts", email="n1@example.org") == 1
    assert (await crm.records.get("Contacts", ids[1], fields=["Email"]) or {})["id"] == ids[1]
    assert await crm.records.get("Contacts", "5843104000999999999") is None
    assert len([r async for r in crm.records.get_many("Contacts", ids[:150], fields=["Email"])]) == 150
    assert assert_contract(recorder) >= 8


async def test_search_and_count_refusals_keep_the_contract(world: Any) -> None:
    _, crm, recorder = world
    for path, params in [
        ("/Contacts/search", {}),
        ("/Contacts/search", {"email": "n1@example.org", "page": "11"}),
        ("/Contacts/search", {"criteria": "(Nope:equals:x)"}),
        ("/Contacts/search", {"word": "x"}),
        ("/Nowhere/search", {"word": "xy"}),
        ("/Contacts/actions/count", {"cvid": "1", "email": "n1@example.org"}),
        ("/Nowhere/actions/count", {}),
        ("/Nowhere", {"fields": "Last_Name"}),  # Get Records of an unknown module: API_Exception's INVALID_MODULE
    ]:
        response = await crm.request("GET", path, operation="records.search", params=params)
        assert response.status == 400, (path, params)
    with pytest.raises(APIError):
        await crm.records.count("Contacts", criteria="(Nope:equals:x)")
    assert assert_contract(recorder) == 9
