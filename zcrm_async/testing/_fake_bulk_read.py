"""FakeZoho's Bulk Read: create a job, read its state, download its ZIP of one CSV (Zoho's "Bulk Read" pages and
its OpenAPI file). Job states and files: ``_fake_bulk_jobs``.

Choices where Zoho's sources are silent or disagree:

- Errors are bare ``{code, details, message, status}`` objects (the OpenAPI file lists them bare and wrapped in
  ``data``). A missing ``query.module`` is MANDATORY_NOT_FOUND; an unknown module MODULE_NOT_AVAILABLE; a value of
  the wrong type INVALID_DATA with ``expected_data_type``; a bad criteria INVALID_CRITERIA; more than 25 criteria
  CRITERIA_LIMIT_EXCEEDED ``{max_limit: 25}``; more than 200 values VALUE_LIMIT_EXCEEDED_IN_CRITERIA.
- ``file_type`` may be top level (the doc page) or inside ``query`` (the OpenAPI file); only ``csv`` is served
  (``ics`` is for Events, which this fake has not).
- An unknown job is 404 RESOURCE_NOT_FOUND for its state (crm-oas) and 400 for its download (the OpenAPI file);
  a download before the job completed is 400 RESOURCE_NOT_FOUND too.
- A job holds ``FakeConfig.bulk_read_page_size`` records (Zoho: 200,000); ``query.page`` N takes the Nth slice,
  ``query.page_token`` (the ``next_page_token`` of the page before, preferred when both are sent) the same.
  Records are in id order; unknown field names are exported as empty columns; ``id`` is always the first.
- Criteria comparators are evaluated on the values as text (numbers compare as numbers when both sides are).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_bulk_jobs import Job, callback_problem, download_url, serve_file, state, take_file, zip_of
from ._fake_endpoint import MODULES
from ._fake_records import project
from ._fake_wire import DECODE, error, json_response
from ._fake_world import Record

if TYPE_CHECKING:
    from ._fake_app import FakeApp

_COMPARATORS = frozenset({
    "equal", "not_equal", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with",
    "greater_than", "greater_equal", "less_than", "less_equal", "between", "not_between",
})  # fmt: skip


async def create_bulk_read(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/bulk/{v}/read."""
    raw = await request.read()
    if not raw.strip():
        return error(400, "REQUEST_BODY_IS_EMPTY", "the request body is empty", {})
    try:
        body = DECODE(raw)
    except Exception:  # msgspec.DecodeError: not JSON
        return error(400, "REQUEST_BODY_NOT_READABLE", "the request body could not be read", {})
    problem = _body_problem(fake, body)
    if problem is not None:
        return problem
    callback = body.get("callback", {}).get("url") if isinstance(body.get("callback"), dict) else None
    job = fake.bulk.add(fake, "read", body, callback, _summary)
    user = fake.world.current_user()
    details = {
        "id": job.id, "operation": "read", "state": "ADDED", "created_by": {"id": user.id, "name": user.name},
        "created_time": _iso(),
    }  # fmt: skip
    answer = {"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.", "details": details}
    return json_response({"data": [answer], "info": {}}, 201)


async def get_bulk_read(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/bulk/{v}/read/{job_id}."""
    fake.bulk.status_reads += 1
    job = fake.bulk.jobs.get(request.match_info["job_id"])
    if job is None or job.kind != "read":
        return error(404, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {"resource": "job_id"})
    return json_response({"data": [_details(fake, job)]})


async def download_bulk_read(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/bulk/{v}/read/{job_id}/result: the ZIP holding ``{job_id}.csv``."""
    job = fake.bulk.jobs.get(request.match_info["job_id"])
    if job is None or job.kind != "read" or state(fake, job, "FAILURE") != "COMPLETED":
        return error(400, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {"resource": "job_id"})
    _finish(fake, job)
    assert job.file is not None
    return await serve_file(fake.bulk, request, job.file, f"{job.id}.zip")


# -- the job ----------------------------------------------------------------------------------------------


def _details(fake: FakeApp, job: Job) -> dict[str, Any]:
    now = state(fake, job, "FAILURE")
    user = fake.world.current_user()
    query = job.body["query"]
    out: dict[str, Any] = {
        "id": job.id, "operation": "read", "state": now, "query": query,
        "created_by": {"id": user.id, "name": user.name}, "created_time": _iso(), "file_type": "csv",
    }  # fmt: skip
    if now == "COMPLETED":
        _finish(fake, job)
        out["result"] = dict(job.summary)
    elif now == "FAILURE":
        out["result"] = {"error_message": job.fail_reason}
    return out


def _summary(fake: FakeApp, job: Job) -> dict[str, Any] | None:
    details = _details(fake, job)
    if details["state"] not in ("COMPLETED", "FAILURE"):
        return None
    return {"job_id": job.id, "operation": "read", "state": details["state"], "query": details["query"],
            "result": details.get("result", {})}  # fmt: skip


def _finish(fake: FakeApp, job: Job) -> None:
    """Build the job's file and result the first time it is seen completed."""
    if job.finished:
        return
    job.finished = True
    query = job.body["query"]
    module = MODULES[query["module"]["api_name"].lower()]
    size = fake.config.bulk_read_page_size
    page = _page_of(fake, query)
    matching = [r for r in fake.world.records_of(module) if _matches(r, query.get("criteria"), fake)]
    rows = matching[(page - 1) * size : page * size]
    more = page * size < len(matching)
    job.file = take_file(fake.bulk, lambda: zip_of(f"{job.id}.csv", _csv(fake, rows, query.get("fields") or [])))
    job.summary = {
        "page": page, "per_page": size, "count": len(rows), "more_records": more,
        "download_url": download_url(fake.bulk, f"/crm/bulk/{fake.config.api_version}/read/{job.id}/result"),
        "next_page_token": _token(fake, page + 1) if more else None,
    }  # fmt: skip


def _csv(fake: FakeApp, rows: list[Record], fields: list[str]) -> str:
    columns = ["id", *(f for f in fields if f != "id")]
    if not fields:
        columns = list(project(rows[0], None, fake.world)) if rows else ["id"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for record in rows:
        values = project(record, tuple(columns), fake.world)
        writer.writerow(["" if values.get(c) is None else values.get(c) for c in columns])
    return out.getvalue()


def _token(fake: FakeApp, page: int) -> str:
    sig = hashlib.blake2b(f"bulk-read:{page}".encode(), key=fake.index_key, digest_size=8).hexdigest()
    return f"{page}.{sig}"


def _page_of(fake: FakeApp, query: dict[str, Any]) -> int:
    token = query.get("page_token")
    if isinstance(token, str):
        return int(token.split(".", 1)[0])
    return int(query.get("page") or 1)


# -- the request ------------------------------------------------------------------------------------------


def _body_problem(fake: FakeApp, body: Any) -> web.Response | None:
    if not isinstance(body, dict):
        return error(400, "REQUEST_BODY_NOT_READABLE", "the request body could not be read", {})
    query = body.get("query")
    if not isinstance(query, dict):
        return _mandatory("query")
    module = query.get("module")
    name = module.get("api_name") if isinstance(module, dict) else None
    if not isinstance(name, str) or not name:
        return _mandatory("module")
    if name.lower() not in MODULES:
        return error(400, "MODULE_NOT_AVAILABLE", f"Requested module '{name}' is not available.", {"api_name": name})
    fields = query.get("fields", [])
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        return _wrong_type("fields", "jsonarray")
    file_type = body.get("file_type", query.get("file_type", "csv"))
    if file_type != "csv":
        return error(400, "INVALID_DATA", "only csv is supported for this module", {"api_name": "file_type"})
    return _page_problem(fake, query) or _criteria_problem(query.get("criteria")) or callback_problem(body)


def _page_problem(fake: FakeApp, query: dict[str, Any]) -> web.Response | None:
    page = query.get("page")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        return _wrong_type("page", "integer")
    token = query.get("page_token")
    if token is not None:
        number = token.split(".", 1)[0] if isinstance(token, str) else ""
        if not number.isdigit() or token != _token(fake, int(number)):
            return error(400, "INVALID_DATA", "the page_token is not valid", {"api_name": "page_token"})
    return None


def _criteria_problem(criteria: Any) -> web.Response | None:
    if criteria is None:
        return None
    leaves: list[dict[str, Any]] = []
    if not _collect(criteria, leaves):
        return error(400, "INVALID_CRITERIA", "the criteria is not valid", {})
    if len(leaves) > 25:
        return error(400, "CRITERIA_LIMIT_EXCEEDED", "more than 25 criteria", {"max_limit": 25})
    for leaf in leaves:
        if isinstance(leaf.get("value"), list) and len(leaf["value"]) > 200:
            return error(400, "VALUE_LIMIT_EXCEEDED_IN_CRITERIA", "more than 200 values", {"max_limit": 200})
    return None


def _collect(node: Any, leaves: list[dict[str, Any]]) -> bool:
    if not isinstance(node, dict):
        return False
    if "group" in node:
        group = node["group"]
        if node.get("group_operator") not in ("and", "or") or not isinstance(group, list) or not group:
            return False
        return all(_collect(child, leaves) for child in group)
    field = node.get("field")
    if not isinstance(field, dict) or not isinstance(field.get("api_name"), str):
        return False
    if node.get("comparator") not in _COMPARATORS or "value" not in node:
        return False
    leaves.append(node)
    return True


def _matches(record: Record, criteria: Any, fake: FakeApp) -> bool:
    if criteria is None:
        return True
    if "group" in criteria:
        results = (_matches(record, child, fake) for child in criteria["group"])
        return all(results) if criteria["group_operator"] == "and" else any(results)
    name = criteria["field"]["api_name"]
    value = project(record, (name,), fake.world).get(name)
    return _compare("" if value is None else str(value), criteria["comparator"], criteria["value"])


def _compare(have: str, comparator: str, want: Any) -> bool:
    wants = [str(w) for w in want] if isinstance(want, list) else [str(want)]
    if want == "${EMPTY}":
        wants = [""]
    first = wants[0] if wants else ""
    match comparator:
        case "equal":
            return have == first
        case "not_equal":
            return have != first
        case "in":
            return have in wants
        case "not_in":
            return have not in wants
        case "contains":
            return first in have
        case "not_contains":
            return first not in have
        case "starts_with":
            return have.startswith(first)
        case "ends_with":
            return have.endswith(first)
        case "between" | "not_between":
            inside = len(wants) == 2 and _order(have, wants[0]) >= 0 and _order(have, wants[1]) <= 0
            return inside if comparator == "between" else not inside
    sign = _order(have, first)
    return {"greater_than": sign > 0, "greater_equal": sign >= 0, "less_than": sign < 0, "less_equal": sign <= 0}[
        comparator
    ]


def _order(a: str, b: str) -> int:
    try:
        x: Any = float(a)
        y: Any = float(b)
    except ValueError:
        x, y = a, b
    return int(x > y) - int(x < y)


def _mandatory(name: str) -> web.Response:
    return error(400, "MANDATORY_NOT_FOUND", f"required key {name} is not found", {"api_name": name})


def _wrong_type(name: str, expected: str) -> web.Response:
    details = {"api_name": name, "expected_data_type": expected}
    return error(400, "INVALID_DATA", "invalid data", details)


def _iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
