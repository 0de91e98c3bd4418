"""FakeZoho's record writes: Insert, Update, Upsert and Delete Records (``/crm/{v}/{module}``).

What each answers follows Zoho's pages of those names and the record OpenAPI file:

- A body is ``{"data": [...], "trigger": [...], "duplicate_check_fields": [...], ...}``; ``data`` is required
  (missing: 400 MANDATORY_NOT_FOUND ``$.data``; not a non-empty array: 400 INVALID_DATA) and holds at most 100
  records: more is 400 ``{"data": [{"code": "LIMIT_EXCEEDED", "details": {"maximum_length": 100, "api_name":
  "data"}}]}``, the Update Records example's shape (``maximum_length`` a number, as there; the older OpenAPI
  file types it a string). ``trigger`` takes workflow, approval, blueprint, pathfinder, orchestration (omitted:
  all run; ``[]``: none); anything else is 400 INVALID_DATA ``$.trigger``.
- Per item: Zoho's multi-status rule, every success 201 (insert) or 200, mixed 207, every item failed 400, one
  entry per item in input order; errors name their field by ``api_name`` and ``json_path``, successes carry the
  record's ``details.id`` and nothing that points back at the input.
- Upsert adds ``action`` (insert or update) and ``duplicate_field`` to each success: the field that matched, or
  null on insert (the Upsert Records page's sample; the newer OpenAPI example names a field even then, and the
  older file types it a string). ``duplicate_check_fields`` may name only the module's system duplicate-check
  and unique fields (else 400 INVALID_DATA ``$.duplicate_check_fields``); without it the system field comes
  first, then the unique fields.
- Delete: ``ids`` (required: 400 REQUIRED_PARAM_MISSING; at most 100: 400 LIMIT_EXCEEDED ``{"limit": 100}``),
  ``wf_trigger`` true (the default) or false; an unknown id is INVALID_DATA "record not deleted" ``{"id"}``, a
  deleted one ``{"id"}`` "record deleted": the answer names ids only, never positions.
- An unknown module is 400 INVALID_MODULE. Each applied item counts in ``FakeStats.record_writes`` (by record
  id) and, when its workflow rules would run, in ``FakeStats.workflow_runs``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ._fake_endpoint import MODULES, versioned
from ._fake_record_fields import duplicate_check_fields
from ._fake_wire import DECODE, error, item_status, json_response, success
from ._fake_write_rules import (
    assign,
    check_values,
    create,
    duplicate_of,
    item_problem,
    record_for_update,
    upsert_match,
    written,
)

if TYPE_CHECKING:
    from ._fake_app import FakeApp

MAX_RECORDS = 100
MAX_IDS = 100
TRIGGERS = frozenset({"workflow", "approval", "blueprint", "pathfinder", "orchestration"})


class _Write:
    """A write request's module, records and options, read from its URL and body."""

    __slots__ = ("check_fields", "items", "module", "workflow")

    def __init__(self, module: str, items: list[Any], workflow: bool, check_fields: tuple[str, ...]) -> None:
        self.module = module
        self.items = items
        #: Whether workflow rules run for these records (``trigger`` omitted or naming ``workflow``).
        self.workflow = workflow
        self.check_fields = check_fields


def write_cost(body: bytes) -> tuple[bool, int]:
    """Heavy and credits of an insert, update or upsert: 1 credit per 10 records (at least 1), heavy over 10
    records ("API Limits": these are "complex" APIs above 10 records)."""
    try:
        items = DECODE(body).get("data")
    except (msgspec.DecodeError, AttributeError):
        return False, 1
    count = len(items) if isinstance(items, list) else 0
    return count > 10, max(1, math.ceil(count / 10))


async def _read_write(fake: FakeApp, request: web.Request, *, upsert: bool) -> _Write | web.Response:
    module = MODULES.get(request.match_info["module"].lower())
    if module is None:
        return error(400, "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0})
    try:
        body = DECODE(await request.read())
    except msgspec.DecodeError:
        return error(400, "INVALID_DATA", "invalid data", {"api_name": "data", "json_path": "$"})
    if not isinstance(body, dict) or "data" not in body:
        details = {"api_name": "data", "json_path": "$.data"}
        return error(400, "MANDATORY_NOT_FOUND", "required field not found", details)
    items = body["data"]
    if not isinstance(items, list) or not items:
        return error(400, "INVALID_DATA", "invalid data", {"api_name": "data", "json_path": "$.data"})
    if len(items) > MAX_RECORDS:
        limit = {"code": "LIMIT_EXCEEDED", "details": {"maximum_length": MAX_RECORDS, "api_name": "data"},
                 "message": "Record count exceeded", "status": "error"}  # fmt: skip
        return json_response({"data": [limit]}, 400)
    trigger = body.get("trigger")
    if trigger is not None and (not isinstance(trigger, list) or not all(t in TRIGGERS for t in trigger)):
        return error(400, "INVALID_DATA", "invalid data", {"api_name": "trigger", "json_path": "$.trigger"})
    check_fields = duplicate_check_fields(module)
    if upsert and "duplicate_check_fields" in body:
        asked = body["duplicate_check_fields"]
        if not isinstance(asked, list) or not asked or not all(f in check_fields for f in asked):
            details = {"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields"}
            return error(400, "INVALID_DATA", "invalid data", details)
        check_fields = tuple(asked)
    return _Write(module, items, trigger is None or "workflow" in trigger, check_fields)


def _count(fake: FakeApp, write: _Write, entry: dict[str, Any]) -> dict[str, Any]:
    if entry["status"] == "success":
        fake.stats.record_writes[entry["details"]["id"]] += 1
        fake.stats.workflow_runs += write.workflow
    return entry


@versioned()
async def insert_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/{v}/{module}: Insert Records."""
    write = await _read_write(fake, request, upsert=False)
    if isinstance(write, web.Response):
        return write
    results = [_count(fake, write, _insert(fake, write.module, item, i)) for i, item in enumerate(write.items)]
    return item_status(results, "data", nest_failures=False, success_status=201)


def _insert(fake: FakeApp, module: str, item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        return item_problem("INVALID_DATA", "invalid data", i)
    problem = check_values(module, item, i, creating=True) or duplicate_of(fake.world, module, item, i, None)
    if problem is not None:
        return problem
    return written(fake.world, create(fake.world, module, item), "record added")


@versioned()
async def update_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """PUT /crm/{v}/{module}: Update Records, each item naming its record by ``id``."""
    write = await _read_write(fake, request, upsert=False)
    if isinstance(write, web.Response):
        return write
    results = [_count(fake, write, _update(fake, write.module, item, i)) for i, item in enumerate(write.items)]
    return item_status(results, "data", nest_failures=False)


def _update(fake: FakeApp, module: str, item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        return item_problem("INVALID_DATA", "invalid data", i)
    record = record_for_update(fake.world, module, item, i)
    if isinstance(record, dict):
        return record
    problem = check_values(module, item, i, creating=False) or duplicate_of(fake.world, module, item, i, record)
    if problem is not None:
        return problem
    assign(fake.world, record, item)
    return written(fake.world, record, "record updated")


@versioned()
async def upsert_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/{v}/{module}/upsert: update the record an item's duplicate-check fields find, else insert it."""
    write = await _read_write(fake, request, upsert=True)
    if isinstance(write, web.Response):
        return write
    results = [_count(fake, write, _upsert(fake, write, item, i)) for i, item in enumerate(write.items)]
    return item_status(results, "data", nest_failures=False)


def _upsert(fake: FakeApp, write: _Write, item: Any, i: int) -> dict[str, Any]:
    world, module = fake.world, write.module
    if not isinstance(item, dict):
        return item_problem("INVALID_DATA", "invalid data", i)
    match = upsert_match(world, module, item, write.check_fields)
    record = match[0] if match else None
    problem = check_values(module, item, i, creating=match is None) or duplicate_of(world, module, item, i, record)
    if problem is not None:
        return problem
    if match is None:
        return written(world, create(world, module, item), "record added", action="insert", duplicate_field=None)
    assign(world, match[0], item)
    return written(world, match[0], "record updated", action="update", duplicate_field=match[1])


@versioned()
async def delete_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """DELETE /crm/{v}/{module}?ids=..&wf_trigger=..: Delete Records."""
    module = MODULES.get(request.match_info["module"].lower())
    if module is None:
        return error(400, "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0})
    raw = request.query.get("ids")
    if not raw:
        return error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param_name": "ids"})
    ids = raw.split(",")
    if len(ids) > MAX_IDS:
        return error(400, "LIMIT_EXCEEDED", "Record count exceeded", {"limit": MAX_IDS, "param_name": "ids"})
    wf_trigger = request.query.get("wf_trigger", "true")
    if wf_trigger not in ("true", "false"):
        return error(400, "INVALID_DATA", "invalid data", {"param_name": "wf_trigger"})
    results = []
    for record_id in ids:
        record = fake.world.record(record_id, module)
        if record is None:
            results.append({"code": "INVALID_DATA", "details": {"id": record_id}, "message": "record not deleted",
                            "status": "error"})  # fmt: skip
            continue
        fake.world.remove_record(record)
        fake.stats.record_writes[record_id] += 1
        fake.stats.workflow_runs += wf_trigger == "true"
        results.append(success({"id": record_id}, "record deleted"))
    return item_status(results, "data", nest_failures=False)

