"""Bulk Write: import rows from a CSV, zipped, through Zoho's upload server; one outcome per input row.

Zoho's "Bulk Write" pages: ``POST {content host}/crm/{v}/upload`` takes the ZIP (multipart field ``file``, headers
``feature: bulk-write`` and ``X-CRM-ORG``: the org's ``zgid`` from Get Organization Details) and answers a
``file_id``; ``POST /crm/bulk/{v}/write`` creates the job (500 credits) for it; ``GET .../write/{id}`` reads its
state; once ``COMPLETED`` its ``result.download_url`` gives a ZIP of one CSV: the first three columns of the input,
then ``RECORD_ID``, ``STATUS`` (added, updated, skipped, unprocessed) and ``ERRORS`` (``CODE-column`` pairs joined
by ``:``). A CSV holds at most 25,000 rows and a ZIP at most 25 MB, so longer inputs are several jobs, one after
the other.

Matching outcomes to rows: the result CSV names no row number, so its rows are taken in file order, and each is
checked against its input row by the three columns it echoes; a count or a value that does not match is a
``ResponseDecodeError``, never a silent misplacement.

A lost answer to the job's creation is not resent: Zoho may have created the job, and a second one would import
the file twice (there is no way to list jobs and find out). The error says so; an upload, whose duplicate is a
harmless orphan file, is resent like any read.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._bulk import BulkResult, ItemResult
from .._client import Target
from .._errors import BulkJobFailed, ResponseDecodeError, TransportError
from .._origins import checked_pinned_url, is_zoho_api_domain
from ..outcomes import BULK_JOB_FAILED, SKIPPED, SUCCESS, UNPROCESSED
from ._calls import bulk_target, decoded
from ._download import DEFAULT_MAX_DOWNLOAD_BYTES, download
from ._models import (
    WRITE_FAILED,
    BulkWriteJob,
    decode_created_write,
    decode_org,
    decode_write_job,
    encode,
)
from ._wait import JobNotices, Poll, wait_for
from ._zip import cell, read_csv_rows, write_csv_zip

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["MAX_ROWS_PER_JOB", "MAX_ZIP_BYTES", "BulkWrite"]

#: Zoho's limits: 25,000 records a CSV, 25 MB a ZIP ("Bulk Write API Limitations").
MAX_ROWS_PER_JOB = 25_000
MAX_ZIP_BYTES = 25 * 1024 * 1024
_OUTCOMES = {"added": "insert", "updated": "update"}

Operation = Literal["insert", "update", "upsert"]


class BulkWrite:
    """``crm.bulk.write``: Bulk Write jobs, one call at a time or a whole import with per-row outcomes."""

    def __init__(self, crm: ZohoCRM, *, poll: Poll, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._crm = crm
        self._poll = poll
        self._sleep = sleep
        self._org_id: str | None = None

    async def org_id(self) -> str:
        """The org's ``zgid`` (Get Organization Details), which uploads name in ``X-CRM-ORG``; read once."""
        if self._org_id is None:
            response = await self._crm.request("GET", "/org", operation="org.get")
            orgs = decoded(decode_org, response, "organization details").org
            zgid = orgs[0].zgid if orgs else None
            if zgid in (None, ""):
                raise ResponseDecodeError("Zoho's organization details carry no zgid", status=response.status)
            self._org_id = str(zgid)
        return self._org_id

    async def upload(self, zip_path: Path) -> str:
        """Upload a ZIP of one CSV ("Upload File"); returns its ``file_id``."""
        boundary = uuid.uuid4().hex
        body = _multipart(boundary, zip_path)
        headers = {
            "feature": "bulk-write",
            "X-CRM-ORG": await self.org_id(),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        target = Target(prefix=f"/crm/{self._crm.api_version}", origin=_upload_origin(self._crm.api_domain))
        response = await self._crm.request(
            "POST", "/upload", operation="bulk.write.upload", content=body, headers=headers, target=target
        )
        answer = decoded(decode_created_write, response, "upload answer")
        file_id = answer.details.get("file_id")
        if answer.status != "success" or file_id in (None, ""):
            raise ResponseDecodeError("Zoho's upload answer carries no file_id", status=response.status)
        return str(file_id)

    async def create(
        self,
        module: str,
        file_id: str,
        *,
        operation: Operation = "insert",
        find_by: str | None = None,
        ignore_empty: bool | None = None,
        callback_url: str | None = None,
    ) -> str:
        """Create a Bulk Write job for an uploaded file ("Create Bulk Write Job"); returns the job's id.

        Raises:
            ValueError: a bad argument (nothing is sent).
            TransportError: no answer: the job may exist, and is not created again.
        """
        body = _job_body(module, file_id, operation, find_by, ignore_empty, callback_url)
        target = bulk_target(self._crm, resend_unanswered=False)
        try:
            response = await self._crm.request(
                "POST", "/write", operation="bulk.write.create", content=encode(body), target=target
            )
        except TransportError as exc:
            raise TransportError(
                f"creating the Bulk Write job for file {file_id} got no answer; the job may exist and is not "
                f"created again (a second one would import the file twice): {exc}"
            ) from exc
        answer = decoded(decode_created_write, response, "Bulk Write job")
        job_id = answer.details.get("id")
        if answer.status != "success" or job_id in (None, ""):
            raise ResponseDecodeError("Zoho's Bulk Write answer names no job id", status=response.status)
        return str(job_id)

    async def status(self, job_id: str) -> BulkWriteJob:
        """The job's state, counts and (once done) result URL ("Get Bulk Write Job Details")."""
        path = f"/write/{_checked_id(job_id)}"
        response = await self._crm.request("GET", path, operation="bulk.write.status", target=bulk_target(self._crm))
        return decoded(decode_write_job, response, "Bulk Write job details")

    async def wait(self, job_id: str, *, notices: JobNotices | None = None) -> BulkWriteJob:
        """The job once ``COMPLETED``; ``BulkJobFailed`` if it ends ``FAILED`` or ``SKIPPED``."""
        wake = notices.event(job_id) if notices is not None else None
        job = await wait_for(lambda: self.status(job_id), _done, poll=self._poll, sleep=self._sleep, wake=wake)
        if job.state in WRITE_FAILED:
            codes = ", ".join(r.code for r in job.resource if r.code)
            raise BulkJobFailed(job.id, job.state, codes)
        return job

    async def run(
        self,
        module: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        columns: Sequence[str],
        operation: Operation = "insert",
        find_by: str | None = None,
        ignore_empty: bool | None = None,
        callback_url: str | None = None,
        notices: JobNotices | None = None,
    ) -> BulkResult[Mapping[str, Any]]:
        """Import ``rows`` (only ``columns``, each a field API name, the CSV's header); one ``ItemResult`` per row,
        in input order. Codes: ``SUCCESS`` (details ``id``, ``action`` insert/update), Zoho's first error code
        (details ``errors``: every ``{code, api_name}``), ``SKIPPED``, ``UNPROCESSED``, or the job's failure
        (``BULK_JOB_FAILED``) on each of its rows.

        Raises:
            ValueError: a bad argument (nothing is sent).
        """
        columns = _checked_columns(columns)
        _job_body(module, "0", operation, find_by, ignore_empty, callback_url)  # checked before any request
        results: list[ItemResult[Mapping[str, Any]]] = []
        batch: list[Mapping[str, Any]] = []
        for row in rows:
            if not isinstance(row, Mapping):
                raise ValueError(f"row {len(results) + len(batch)} is not a mapping of column to value")
            batch.append(row)
            if len(batch) == MAX_ROWS_PER_JOB:
                results += await self._one_job(module, batch, columns, operation, find_by, ignore_empty,
                                               callback_url, notices)  # fmt: skip
                batch = []
        if batch:
            results += await self._one_job(
                module, batch, columns, operation, find_by, ignore_empty, callback_url, notices
            )
        return BulkResult(results)

    async def _one_job(
        self, module: str, rows: list[Mapping[str, Any]], columns: Sequence[str], operation: Operation,
        find_by: str | None, ignore_empty: bool | None, callback_url: str | None, notices: JobNotices | None,
    ) -> list[ItemResult[Mapping[str, Any]]]:  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / f"{module}.zip"
            write_csv_zip(rows, columns, source, member=f"{module}.csv")
            file_id = await self.upload(source)
            job_id = await self.create(
                module, file_id, operation=operation, find_by=find_by, ignore_empty=ignore_empty,
                callback_url=callback_url,
            )  # fmt: skip
            try:
                job = await self.wait(job_id, notices=notices)
            except BulkJobFailed as failed:
                return [ItemResult(row, BULK_JOB_FAILED, "error", str(failed), {"job_id": job_id}) for row in rows]
            url = job.download_url
            if not url:
                raise ResponseDecodeError(f"bulk write job {job_id} is COMPLETED without a result", status=200)
            result = Path(folder) / "result.zip"
            await download(
                self._crm, url, result, operation="bulk.write.download", max_bytes=DEFAULT_MAX_DOWNLOAD_BYTES
            )
            return await _outcomes(rows, columns, result, job_id)


def _done(job: BulkWriteJob) -> bool:
    return job.done


async def _outcomes(
    rows: list[Mapping[str, Any]], columns: Sequence[str], result: Path, job_id: str
) -> list[ItemResult[Mapping[str, Any]]]:
    echoed = columns[:3]
    out: list[ItemResult[Mapping[str, Any]]] = []
    async for line in read_csv_rows(result):
        if len(out) >= len(rows):
            raise ResponseDecodeError(f"bulk write job {job_id}'s result has more rows than the {len(rows)} sent",
                                      status=200)  # fmt: skip
        row = rows[len(out)]
        for column in echoed:
            sent = cell(row.get(column))
            if column in line and line[column] != sent:
                raise ResponseDecodeError(
                    f"bulk write job {job_id}'s result row {len(out) + 1} says {column}={line[column]!r}, but "
                    f"{sent!r} was sent there: its rows are not the input's, in order", status=200,
                )  # fmt: skip
        out.append(_outcome(row, line))
    if len(out) != len(rows):
        raise ResponseDecodeError(f"bulk write job {job_id}'s result has {len(out)} rows for {len(rows)} sent",
                                  status=200)  # fmt: skip
    return out


def _outcome(row: Mapping[str, Any], line: Mapping[str, str]) -> ItemResult[Mapping[str, Any]]:
    status = line.get("STATUS", "").strip().lower()
    record_id = line.get("RECORD_ID", "").strip()
    if status in _OUTCOMES:
        return ItemResult(row, SUCCESS, "success", f"record {status}", {"id": record_id, "action": _OUTCOMES[status]})
    errors = _errors(line.get("ERRORS", ""))
    if errors:
        first = errors[0]
        return ItemResult(row, first["code"], "error", line.get("ERRORS", ""), {"errors": errors, "id": record_id})
    code = UNPROCESSED if status == "unprocessed" else SKIPPED
    return ItemResult(row, code, "error", f"record {status or 'not processed'}", {"id": record_id})


def _errors(text: str) -> list[dict[str, str]]:
    """``MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email`` -> one ``{code, api_name}`` per field."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(":"))):
        code, _, names = part.partition("-")
        for name in names.split(",") if names else [""]:
            out.append({"code": code.strip(), "api_name": name.strip()})
    return out


def _upload_origin(api_domain: str) -> str | None:
    """Zoho's upload server for an API domain on Zoho's hosts (``content.zohoapis.<tld>``); a domain the user
    pinned elsewhere (a proxy, a fake) takes uploads itself (None)."""
    if not is_zoho_api_domain(api_domain):
        return None
    host = api_domain.split("://", 1)[1].rstrip("/")
    suffix = host[host.index("zohoapis.") :]
    return f"https://content.{suffix}"


def _multipart(boundary: str, zip_path: Path) -> bytes:
    """Upload File's body: the ZIP as the form's ``file`` field (in memory: Zoho takes 25 MB at most)."""
    size = zip_path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise ValueError(f"{zip_path.name} is {size:,} bytes; Zoho takes ZIPs of at most {MAX_ZIP_BYTES:,}")
    data, filename = zip_path.read_bytes(), zip_path.name
    if not data.startswith(b"PK\x03\x04"):  # Zoho would refuse it (INVALID_FILE_FORMAT): say so before sending
        raise ValueError(f"{filename} is not a ZIP file; Zoho's Upload File takes a ZIP of one CSV")
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


def _checked_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id.isascii() or not job_id.isalnum():
        raise ValueError(f"a bulk job id is letters and digits, got {job_id!r}")
    return job_id


def _checked_columns(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not columns:
        raise ValueError("columns must be a non-empty list of field API names (the CSV's header)")
    checked = list(columns)
    if not all(isinstance(c, str) and c.strip() for c in checked) or len(set(checked)) != len(checked):
        raise ValueError("columns must be distinct, non-empty field API names")
    if len(checked) > 200:
        raise ValueError(f"Zoho takes at most 200 columns in a Bulk Write CSV, got {len(checked)}")
    return checked


def _job_body(
    module: str, file_id: str, operation: str, find_by: str | None, ignore_empty: bool | None, callback_url: str | None
) -> dict[str, Any]:
    """Create Bulk Write Job's body, every argument checked first (a clear ValueError, nothing sent)."""
    if not isinstance(module, str) or not module.strip() or "/" in module:
        raise ValueError(f"module must be a module's API name, got {module!r}")
    if operation not in ("insert", "update", "upsert"):
        raise ValueError(f"operation must be insert, update or upsert, got {operation!r}")
    if operation != "insert" and not find_by:
        raise ValueError(f"{operation} needs find_by: the field (id or a unique field) that finds each record")
    resource: dict[str, Any] = {"type": "data", "module": {"api_name": module}, "file_id": str(file_id)}
    if find_by:
        resource["find_by"] = find_by
    body: dict[str, Any] = {"operation": operation, "resource": [resource]}
    if ignore_empty is not None:
        body["ignore_empty"] = ignore_empty
    if callback_url is not None:
        body["callback"] = {"url": checked_pinned_url(callback_url, "callback_url"), "method": "post"}
    return body
