"""FakeZoho's Bulk Write: Get Organization Details (the ``zgid``), Upload File, create a job, read its state,
download its result (Zoho's "Bulk Write" pages and its OpenAPI file). Job states and files: ``_fake_bulk_jobs``.

Choices where Zoho's sources are silent or disagree:

- Upload: the headers ``feature: bulk-write`` and ``X-CRM-ORG: <zgid>`` are required; without them (or with
  another org's id) the answer is the gateway's 400 ``{"ERROR_CODE", "ERROR_MESSAGE", "x-error"}`` the OpenAPI
  file lists. A body that is not a ZIP is INVALID_FILE_FORMAT; above 25 MB, 413 FILE_TOO_LARGE. ``file_id`` is a
  string (the doc page; the OpenAPI file says int64). The upload is served on the API domain (Zoho's is
  ``content.zohoapis.<tld>``).
- Create: ``operation`` and ``resource`` are required (MANDATORY_NOT_FOUND), ``find_by`` for update and upsert;
  an unknown module is MODULE_NOT_AVAILABLE, an unknown file INVALID_FILE_ID, a column that is no API name (or
  is named twice) INVALID_FIELD, a CSV without the module's mandatory fields (``_fake_record_fields``) on insert
  or upsert MANDATORY_FIELDS_NOT_MAPPED, more than 200 columns HEADER_LIMIT_EXCEEDED, more than 25,000 rows
  LIMIT_EXCEEDED. Without ``field_mappings`` (the only form served) the CSV's header names the fields.
- The status spells a running job ``IN PROGRESS`` (the OpenAPI file; the v7 samples say ``INPROGRESS``). An
  unknown job is 400 RESOURCE_NOT_FOUND (the OpenAPI file).
- Rows are applied when the job is first seen completed, by the record writes' rules (``_fake_write_rules``):
  a row they refuse is skipped with its ``CODE-field`` (``MANDATORY_NOT_FOUND-Last_Name``); update/upsert find
  records by ``find_by`` (``id`` or a column), an update that finds none is skipped
  (``RESOURCE_NOT_FOUND-<find_by>``); an insert with ``find_by`` skips a row whose record exists
  (``DUPLICATE_DATA-<find_by>``); ``ignore_empty`` leaves a field as it is where its cell is empty. The result
  CSV holds the first three columns, ``RECORD_ID``, ``STATUS`` and ``ERRORS``, a row per input row, in order; its
  download URL is a path like the v7 sample's.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_bulk_jobs import Job, callback_problem, download_url, serve_file, state, take_file, zip_of
from ._fake_endpoint import MODULES
from ._fake_modules import module_id
from ._fake_record_fields import MANDATORY, duplicate_check_fields, value_of
from ._fake_wire import DECODE, error, json_response
from ._fake_world import Record, World
from ._fake_write_rules import assign, check_values, create, duplicate_of

if TYPE_CHECKING:
    from ._fake_app import FakeApp

#: The fake's org id, which uploads must name in X-CRM-ORG.
ZGID = "60019877341"
MAX_UPLOAD = 25 * 1024 * 1024
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_BAD_HEADERS = {
    "ERROR_CODE": 400, "ERROR_MESSAGE": "Bad Request", "http_status": "400",
    "x-error": "check if headers [feature, X-CRM-ORG] are present and valid",
}  # fmt: skip


async def get_org(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/org: Get Organization Details (the parts a client needs)."""
    return json_response({"org": [{"id": "4150868000000225013", "zgid": ZGID, "company_name": "FakeZoho"}]})


async def upload_file(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/{v}/upload with a multipart ``file`` field holding a ZIP."""
    if request.headers.get("feature") != "bulk-write" or request.headers.get("X-CRM-ORG") != ZGID:
        return json_response(_BAD_HEADERS, 400)
    data = _file_field(request.headers.get("Content-Type", ""), await request.read())
    if data is not None and len(data) > MAX_UPLOAD:
        return error(413, "FILE_TOO_LARGE", "File size too large to process", {})
    if data is None or not _is_zip(data):
        return error(400, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", {})
    file_id = fake.world.new_id()
    fake.bulk.files[file_id] = data
    details = {"file_id": file_id, "created_time": _iso()}
    return json_response({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
                          "details": details})  # fmt: skip


async def create_bulk_write(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/bulk/{v}/write."""
    try:
        body = DECODE(await request.read())
    except Exception:  # msgspec.DecodeError: not JSON
        return error(400, "INVALID_DATA", "body is not a valid JSON", {})
    checked = _check_body(fake, body)
    if isinstance(checked, web.Response):
        return checked
    callback = body["callback"]["url"] if isinstance(body.get("callback"), dict) else None
    job = fake.bulk.add(fake, "write", {**body, "_rows": checked}, callback, _summary)
    user = fake.world.current_user()
    details = {"id": job.id, "created_by": {"id": user.id, "name": user.name}}
    return json_response({"status": "success", "code": "SUCCESS", "message": "success", "details": details}, 201)


async def get_bulk_write(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/bulk/{v}/write/{job_id}."""
    fake.bulk.status_reads += 1
    job = fake.bulk.jobs.get(request.match_info["job_id"])
    if job is None or job.kind != "write":
        return error(400, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {"resource": "job_id"})
    return json_response(_details(fake, job))


async def download_bulk_write(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /{v}/crm/{org}/bulk-write/{job_id}/{job_id}.zip: the result file."""
    job = fake.bulk.jobs.get(request.match_info["job_id"])
    if job is None or job.kind != "write" or state(fake, job, "FAILED") != "COMPLETED":
        return error(400, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.", {"resource": "job_id"})
    _finish(fake, job)
    assert job.file is not None
    return await serve_file(fake.bulk, request, job.file, f"{job.id}.zip")


# -- the job ----------------------------------------------------------------------------------------------


def _details(fake: FakeApp, job: Job) -> dict[str, Any]:
    now = state(fake, job, "FAILED")
    if now == "COMPLETED":
        _finish(fake, job)
    resource = job.body["resource"][0]
    module = MODULES[resource["module"]["api_name"].lower()]
    rows: list[dict[str, str]] = job.body["_rows"]
    counts = job.summary or {"added_count": 0, "skipped_count": 0, "updated_count": 0}
    user = fake.world.current_user()
    out: dict[str, Any] = {
        "status": now, "character_encoding": "UTF-8", "id": job.id, "operation": job.body["operation"],
        "created_by": {"id": user.id, "name": user.name}, "created_time": _iso(),
        "resource": [{
            "status": now, "type": "data", "module": {"api_name": module, "id": module_id(module)},
            "field_mappings": [{"api_name": name, "index": i} for i, name in enumerate(rows[0] if rows else [])],
            "file": {"status": now, "name": f"{job.id}.csv", "total_count": len(rows), **counts},
        }],
    }  # fmt: skip
    if now == "FAILED":
        out["resource"][0]["code"] = "FAILED_PROCESSING"
    if job.callback:
        out["callback"] = job.body["callback"]
    if now == "COMPLETED":
        path = f"/{fake.config.api_version}/crm/{ZGID}/bulk-write/{job.id}/{job.id}.zip"
        out["result"] = {"download_url": download_url(fake.bulk, path)}
    return out


def _summary(fake: FakeApp, job: Job) -> dict[str, Any] | None:
    details = _details(fake, job)
    return details if details["status"] in ("COMPLETED", "FAILED") else None


def _finish(fake: FakeApp, job: Job) -> None:
    """Apply the rows and build the result file, once."""
    if job.finished:
        return
    job.finished = True
    resource = job.body["resource"][0]
    module = MODULES[resource["module"]["api_name"].lower()]
    rows: list[dict[str, str]] = job.body["_rows"]
    ignore_empty = bool(job.body.get("ignore_empty", False))
    writer = _Applier(fake.world, module, job.body["operation"], resource.get("find_by"), ignore_empty)
    lines = [writer.apply(row) for row in rows]
    job.summary = {key: sum(1 for line in lines if line[1] == status) for key, status in
                   (("added_count", "added"), ("updated_count", "updated"), ("skipped_count", "skipped"))}  # fmt: skip
    head = list(rows[0])[:3] if rows else []
    out = io.StringIO()
    csv_writer = csv.writer(out, lineterminator="\r\n")
    csv_writer.writerow([*head, "RECORD_ID", "STATUS", "ERRORS"])
    for row, (record_id, status, errors) in zip(rows, lines, strict=True):
        csv_writer.writerow([*(row[c] for c in head), record_id, status, errors])
    job.file = take_file(fake.bulk, lambda: zip_of(f"{job.id}.csv", out.getvalue()))


class _Applier:
    """Applies rows to the world by the record writes' own rules (``_fake_write_rules``): (record id,
    added/updated/skipped, ERRORS)."""

    def __init__(self, world: World, module: str, operation: str, find_by: str | None, ignore_empty: bool) -> None:
        self.world, self.module, self.operation, self.find_by = world, module, operation, find_by
        self.ignore_empty = ignore_empty

    def apply(self, row: dict[str, str]) -> tuple[str, str, str]:
        item: dict[str, Any] = {k: v for k, v in row.items() if k != "id" and (v or not self.ignore_empty)}
        found = self._find(row)
        if self.operation == "update" or (self.operation == "upsert" and found is not None):
            if found is None:
                return "", "skipped", f"RESOURCE_NOT_FOUND-{self.find_by}"
            problem = check_values(self.module, item, 0, creating=False)
            problem = problem or duplicate_of(self.world, self.module, item, 0, found)
            if problem is not None:
                return found.id, "skipped", _errors_of(problem)
            assign(self.world, found, item)
            return found.id, "updated", ""
        if found is not None:
            return found.id, "skipped", f"DUPLICATE_DATA-{self.find_by}"
        problem = check_values(self.module, item, 0, creating=True)
        problem = problem or duplicate_of(self.world, self.module, item, 0, None)
        if problem is not None:
            return "", "skipped", _errors_of(problem)
        return create(self.world, self.module, item).id, "added", ""

    def _find(self, row: dict[str, str]) -> Record | None:
        field = self.find_by
        key = row.get(field or "", "")
        if not field or not key:
            return None
        if field == "id":
            return self.world.record(key, self.module)
        if field in duplicate_check_fields(self.module):
            return self.world.index.find(self.module, field, key)
        return next((r for r in self.world.records_of(self.module) if value_of(r, field) == key), None)


def _errors_of(problem: dict[str, Any]) -> str:
    """A per-item error as the result file's ERRORS column writes it: ``CODE-field``."""
    return f"{problem['code']}-{problem['details'].get('api_name', '')}"


# -- the request ------------------------------------------------------------------------------------------


def _check_body(fake: FakeApp, body: Any) -> list[dict[str, str]] | web.Response:
    """The uploaded CSV's rows, or Zoho's error for the body."""
    if not isinstance(body, dict) or "operation" not in body:
        return _mandatory("operation", "required key operation is not found in request body.")
    operation = body["operation"]
    if operation not in ("insert", "update", "upsert"):
        return error(400, "INVALID_DATA", "invalid data", {"api_name": "operation"})
    resources = body.get("resource")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict):
        return _mandatory("resource", "required key resource is not found in request body.")
    resource = resources[0]
    module = resource.get("module", {}).get("api_name") if isinstance(resource.get("module"), dict) else None
    if resource.get("type") != "data":
        return error(400, "INVALID_DATA", "invalid data", {"api_name": "type"})
    if not isinstance(module, str) or MODULES.get(module.lower()) not in MANDATORY:
        return error(400, "MODULE_NOT_AVAILABLE", f"Requested module '{module}' is not available.", {})
    data = fake.bulk.files.get(str(resource.get("file_id")))
    if data is None:
        return error(400, "INVALID_FILE_ID", "improper file id", {"api_name": "file_id"})
    if operation != "insert" and not resource.get("find_by"):
        return _mandatory("find_by", "Required key find_by is not available")
    problem = callback_problem(body)
    if problem is not None:
        return problem
    return _rows_of(data, MODULES[module.lower()], operation, resource.get("find_by"))


def _rows_of(data: bytes, module: str, operation: str, find_by: str | None) -> list[dict[str, str]] | web.Response:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if not n.endswith("/")]
            if len(names) != 1 or not names[0].lower().endswith(".csv"):
                return error(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", {})
            text = archive.read(names[0]).decode("utf-8-sig")
    except (zipfile.BadZipFile, UnicodeDecodeError):
        return error(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", {})
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if len(header) > 200:
        return error(400, "HEADER_LIMIT_EXCEEDED", "more than 200 columns", {"max_limit": 200})
    unknown = [name for name in header if _FIELD_NAME.fullmatch(name) is None]
    if unknown or len(set(header)) != len(header):
        name = unknown[0] if unknown else "header"
        return error(400, "INVALID_FIELD", f"invalid mapping. invalid api_name {name}.", {"api_name": name})
    missing = [field for field in MANDATORY[module] if field not in header]
    if operation != "update" and missing:
        message = "All mandatory fields are not mapped for the layout"
        return error(400, "MANDATORY_FIELDS_NOT_MAPPED", message, {"api_name": missing[0]})
    if find_by and find_by not in header:
        return error(400, "INVALID_DATA", "find_by is not a column of the file", {"api_name": "find_by"})
    rows = [dict(zip(header, row, strict=False)) for row in reader]
    if len(rows) > 25_000:
        return error(400, "LIMIT_EXCEEDED", "more than 25000 records in the file", {"max_limit": 25_000})
    return rows


def _file_field(content_type: str, body: bytes) -> bytes | None:
    """The ``file`` part of a multipart/form-data body (None when there is none)."""
    kind, _, params = content_type.partition(";")
    boundary = next((p.strip()[9:].strip('"') for p in params.split(";") if p.strip().startswith("boundary=")), "")
    if kind.strip().lower() != "multipart/form-data" or not boundary:
        return None
    for part in _parts(body, boundary.encode()):
        head, _, data = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return data
    return None


def _parts(body: bytes, boundary: bytes) -> Iterator[bytes]:
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            return
        yield chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")


def _is_zip(data: bytes) -> bool:
    """A ZIP from its first byte (a local file header) to its central directory."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)):
            return True
    except zipfile.BadZipFile:
        return False


def _mandatory(name: str, message: str) -> web.Response:
    return error(400, "MANDATORY_NOT_FOUND", message, {"api_name": name})


def _iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
