"""Zoho's Bulk Read and Bulk Write OpenAPI files judge both sides: every job body the client sends and every JSON
answer FakeZoho gives, in each state (ADDED, IN PROGRESS, COMPLETED, failed), for unknown jobs and refused uploads.

Where Zoho's own sources disagree, the schema is widened in one named place below (``_widen_*``), each with the
source that widens it. Skipped, with that reason, only where the OpenAPI files are not beside the clone.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from tests.bulk_jobs.helpers import Clock, seed_contacts
from tests.contract import oas
from tests.fakes import fake_and_client
from zcrm_async import BulkJobFailed, RetryPolicy, ZohoCRM
from zcrm_async.plumbing import AiohttpTransport, Request, Response
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

_JSON = ("content", "application/json", "schema")
_HOOK = "http://127.0.0.1:9/never-answered"  # the fake's callback to it fails quietly, as Zoho's would


class Recorder:
    """The client's transport, keeping every (request, response) pair."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.exchanges: list[tuple[Request, Response]] = []

    async def send(self, request: Request) -> Response:
        response = await self.inner.send(request)
        self.exchanges.append((request, response))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def of(self, method: str, pattern: str) -> list[tuple[Request, Response]]:
        return [(q, r) for q, r in self.exchanges if q.method == method and re.search(pattern, q.url.split("?")[0])]


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeZoho, ZohoCRM, Recorder]]:
    recorder, clock = Recorder(), Clock()
    config = FakeConfig(clock=clock, bulk_job_seconds=30.0, bulk_read_page_size=10)
    async with fake_and_client(config, transport=recorder, sleep=clock.sleep,
                               retry=RetryPolicy(attempts=1)) as (fake, crm):  # fmt: skip
        yield fake, crm, recorder
    await recorder.aclose()


# -- the schemas, with every documented conflict widened in one place ------------------------------------


def _module_by_name(module: dict[str, Any]) -> dict[str, Any]:
    """The doc pages' samples name a module (or a field) by ``api_name`` alone (the files also require ``id``)."""
    module = oas.deref(module)
    module["required"] = ["api_name"]
    return module


def _widen_read_query(query: dict[str, Any]) -> dict[str, Any]:
    """``Query.required`` lists every key, and ``file_type`` sits in it (generated noise: the doc page requires only
    ``module`` and puts ``file_type`` at the top). The doc page's criteria carry no ``type``, name the field by
    ``api_name`` alone, and give a ``value`` that is text, a number or a list (the file: an object)."""
    query = oas.deref(query)
    query["required"] = ["module"]
    query["properties"]["module"] = _module_by_name(query["properties"]["module"])
    criteria = query["properties"]["criteria"] = oas.deref(query["properties"]["criteria"])
    criteria.pop("required")
    criteria["properties"]["value"] = {}
    criteria["properties"]["field"] = _module_by_name(criteria["properties"]["field"])
    return query


def _widen_read_request(schema: dict[str, Any]) -> None:
    schema["properties"]["query"] = _widen_read_query(schema["properties"]["query"])


def _widen_read_details(schema: dict[str, Any]) -> None:
    """A job not yet done has no ``result`` (the doc page's samples); the last page's ``next_page_token`` is null;
    a failed job's result is its ``error_message`` (the doc page's callback sample)."""
    job = schema["properties"]["data"]["items"] = oas.deref(schema["properties"]["data"]["items"])
    job["required"].remove("result")
    job["properties"]["query"] = _widen_read_query(job["properties"]["query"])
    result = oas.deref(job["properties"]["result"])
    result["properties"]["next_page_token"] = {"type": ["string", "null"]}
    failed = {"type": "object", "properties": {"error_message": {"type": "string"}}, "required": ["error_message"]}
    job["properties"]["result"] = {"anyOf": [result, failed]}
    job["properties"]["state"]["enum"] = [*job["properties"]["state"]["enum"], "QUEUED"]


def _widen_write_request(schema: dict[str, Any]) -> None:
    resource = schema["properties"]["resource"]["items"] = oas.deref(schema["properties"]["resource"]["items"])
    resource["properties"]["module"] = _module_by_name(resource["properties"]["module"])


def _widen_upload_answer(schema: dict[str, Any]) -> None:
    """Upload File's answer carries ``{file_id, created_time}`` (the doc page; the OpenAPI file shares the job's
    details, which require ``id`` and ``created_by``), and ``file_id`` is a string there (int64 in the file)."""
    success = oas.deref(schema["oneOf"][0])
    details = success["properties"]["details"]
    details.pop("required")
    details["properties"]["file_id"] = {"type": ["string", "integer"]}
    schema["oneOf"][0] = success


def _schema(name: str, *parts: str, widen: Any = None) -> Any:
    node = oas.resolve(name, *parts)
    if widen is not None:
        widen(node)
    return oas.validator_for(node)


def _body(content: bytes | None) -> Any:
    return msgspec.json.decode(content or b"null")


def _assert_valid(validator: Any, instance: Any, what: str) -> None:
    problems = oas.check(validator, instance)
    assert not problems, f"{what}: {problems}"


# -- Bulk Read ------------------------------------------------------------------------------------------


async def test_bulk_read_bodies_and_answers_match_zohos_schemas(world: tuple[FakeZoho, ZohoCRM, Recorder]) -> None:
    fake, crm, recorder = world
    seed_contacts(fake, 25)
    criteria = {"field": {"api_name": "Email"}, "comparator": "contains", "value": "example"}
    rows = [row async for row in crm.bulk.read.export("Contacts", fields=["Email"], criteria=criteria,
                                                     callback_url=_HOOK)]  # fmt: skip
    assert len(rows) == 25
    fake.bulk.fail_next.append("could not export")
    with pytest.raises(BulkJobFailed):
        await crm.bulk.read.wait((await crm.bulk.read.create("Contacts")).id)
    assert (await crm.request("GET", "/read/1", operation="x", target=_bulk(crm))).status == 404

    path = ("paths", "/crm/bulk/v8/read")
    request = _schema("bulk_read.json", *path, "post", "requestBody", *_JSON, widen=_widen_read_request)
    created = _schema("bulk_read.json", *path, "post", "responses", "201", *_JSON)
    details = _schema("bulk_read.json", "components", "schemas", "Response_Wrapper", widen=_widen_read_details)
    missing = _schema("bulk_read.json", "components", "schemas", "Resource_Not_Found")
    creates = recorder.of("POST", r"/crm/bulk/v8/read$")
    assert len(creates) == 4
    for sent, answer in creates:
        _assert_valid(request, _body(sent.content), "Create Bulk Read Job request")
        _assert_valid(created, _body(answer.content), "Create Bulk Read Job answer")
    states = set()
    for _, answer in recorder.of("GET", r"/crm/bulk/v8/read/\d+$"):
        if answer.status == 404:
            _assert_valid(missing, _body(answer.content), "unknown job")
            continue
        _assert_valid(details, _body(answer.content), "Get Bulk Read Job Details answer")
        states.add(_body(answer.content)["data"][0]["state"])
    assert states == {"ADDED", "IN PROGRESS", "COMPLETED", "FAILURE"}


# -- Bulk Write -----------------------------------------------------------------------------------------


async def test_bulk_write_bodies_and_answers_match_zohos_schemas(world: tuple[FakeZoho, ZohoCRM, Recorder]) -> None:
    fake, crm, recorder = world
    rows = [{"Last_Name": f"N{i}", "Email": f"n{i}@example.net"} for i in range(5)]
    result = await crm.bulk.write.run("Contacts", rows, columns=["Last_Name", "Email"], operation="upsert",
                                      find_by="Email", ignore_empty=True, callback_url=_HOOK)  # fmt: skip
    assert result.ok
    fake.bulk.fail_next.append("could not import")
    failed = await crm.bulk.write.run("Contacts", rows, columns=["Last_Name", "Email"])
    assert failed.counts == {"BULK_JOB_FAILED": 5}
    bad = await crm.request("POST", "/upload", operation="x", content=b"--x--", headers={
        "Content-Type": "multipart/form-data; boundary=x", "feature": "bulk-write", "X-CRM-ORG": "1"})  # fmt: skip
    assert bad.status == 400

    upload = _schema("bulk_write.json", "paths", "/crm/v8/upload", "post", "responses", "200", *_JSON,
                     widen=_widen_upload_answer)  # fmt: skip
    path = ("paths", "/crm/bulk/v8/write")
    request = _schema("bulk_write.json", *path, "post", "requestBody", *_JSON, widen=_widen_write_request)
    created = _schema("bulk_write.json", *path, "post", "responses", "201", *_JSON)
    details = _schema("bulk_write.json", "components", "schemas", "Bulk_Write_Response")
    uploads = recorder.of("POST", r"/crm/v8/upload$")
    assert len(uploads) == 3
    for _, answer in uploads:
        _assert_valid(upload, _body(answer.content), "Upload File answer")
    for sent, answer in recorder.of("POST", r"/crm/bulk/v8/write$"):
        _assert_valid(request, _body(sent.content), "Create Bulk Write Job request")
        _assert_valid(created, _body(answer.content), "Create Bulk Write Job answer")
    states = set()
    for _, answer in recorder.of("GET", r"/crm/bulk/v8/write/\d+$"):
        _assert_valid(details, _body(answer.content), "Get Bulk Write Job Details answer")
        states.add(_body(answer.content)["status"])
    assert states == {"ADDED", "IN PROGRESS", "COMPLETED", "FAILED"}


def _bulk(crm: ZohoCRM) -> Any:
    # private on purpose: the Bulk API's target, to send bodies the client itself never would
    from zcrm_async.bulk_jobs._calls import bulk_target

    return bulk_target(crm)
