"""Bulk Read: export a module's records as CSV, 200,000 a job, read back row by row in constant memory.

Zoho's "Bulk Read" pages: ``POST /crm/bulk/{v}/read`` creates a job (50 credits), ``GET .../read/{id}`` reads its
state (``ADDED`` -> ``IN PROGRESS`` -> ``COMPLETED``, or ``FAILURE``), ``GET .../read/{id}/result`` downloads a
ZIP of one CSV. A job holds at most 200,000 records; its ``result.more_records`` says whether the next job
(``page`` + 1, or the ``next_page_token`` it gives, which is preferred when present) has more.

``export`` runs the whole chain: while one page is downloaded and read, the next page's job is already being
prepared on Zoho's side. With a ``directory``, an export is resumable: the jobs' ids and the files are kept there,
so a rerun of the same query reuses the jobs Zoho still has (no new 50 credits) and continues a half-downloaded
file (see ``_download``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import BulkFileError, BulkJobFailed, InvalidRequestError, NotFoundError, ResponseDecodeError
from .._origins import checked_pinned_url
from ._calls import bulk_target, decoded
from ._download import DEFAULT_MAX_DOWNLOAD_BYTES, download
from ._models import READ_FAILED, BulkReadJob, decode_created_read, decode_read_details, encode
from ._wait import JobNotices, Poll, wait_for
from ._zip import DEFAULT_MAX_CSV_BYTES, read_csv_rows

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["BulkRead"]

_STATE = "bulk-read.json"


class BulkRead:
    """``crm.bulk.read``: Bulk Read jobs, one call at a time or a whole export."""

    def __init__(self, crm: ZohoCRM, *, poll: Poll, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._crm = crm
        self._poll = poll
        self._sleep = sleep

    async def create(
        self,
        module: str,
        *,
        fields: Sequence[str] = (),
        criteria: Mapping[str, Any] | None = None,
        cvid: str | None = None,
        page: int | None = None,
        page_token: str | None = None,
        callback_url: str | None = None,
    ) -> BulkReadJob:
        """Create a Bulk Read job ("Create Bulk Read Job"); ``fields`` empty exports every field.

        Raises:
            ValueError: a bad argument (nothing is sent).
        """
        body = _body(module, fields, criteria, cvid, page, page_token, callback_url)
        response = await self._crm.request(
            "POST", "/read", operation="bulk.read.create", content=encode(body), target=bulk_target(self._crm)
        )
        created = decoded(decode_created_read, response, "Bulk Read job")
        details = created.data[0].details if created.data else {}
        if not isinstance(details.get("id"), str | int):
            raise ResponseDecodeError("Zoho's Bulk Read answer names no job id", status=response.status)
        return BulkReadJob(id=str(details["id"]), state=str(details.get("state") or "ADDED"))

    async def status(self, job_id: str) -> BulkReadJob:
        """The job's state and, once done, its result ("Get Bulk Read Job Details")."""
        path = f"/read/{_checked_id(job_id)}"
        response = await self._crm.request("GET", path, operation="bulk.read.status", target=bulk_target(self._crm))
        jobs = decoded(decode_read_details, response, "Bulk Read job details").data
        if not jobs:
            raise ResponseDecodeError("Zoho's Bulk Read job details are empty", status=response.status)
        return jobs[0]

    async def wait(self, job_id: str, *, notices: JobNotices | None = None) -> BulkReadJob:
        """The job once ``COMPLETED``; ``BulkJobFailed`` if it fails.

        ``notices``: where the caller's callback handler reports Zoho's callbacks; the status is then read when
        the job's callback comes (and rarely otherwise), instead of with growing pauses.
        """
        wake = notices.event(job_id) if notices is not None else None
        job = await wait_for(lambda: self.status(job_id), _read_done, poll=self._poll, sleep=self._sleep, wake=wake)
        if job.state in READ_FAILED:
            reason = (job.result.error_message if job.result else None) or ""
            raise BulkJobFailed(job.id, job.state, reason)
        return job

    async def download(
        self, job: BulkReadJob, destination: Path, *, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    ) -> bool:
        """Download a completed job's ZIP to ``destination`` ("Download Result"); True if a partial one was resumed."""
        url = job.result.download_url if job.result is not None else None
        if job.state != "COMPLETED" or not url:
            raise ValueError(f"bulk read job {job.id} is {job.state}, not COMPLETED with a download URL")
        return await download(self._crm, url, destination, operation="bulk.read.download", max_bytes=max_bytes)

    async def export(
        self,
        module: str,
        *,
        fields: Sequence[str] = (),
        criteria: Mapping[str, Any] | None = None,
        cvid: str | None = None,
        directory: Path | str | None = None,
        callback_url: str | None = None,
        notices: JobNotices | None = None,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        max_csv_bytes: int = DEFAULT_MAX_CSV_BYTES,
    ) -> AsyncIterator[dict[str, str]]:
        """Every record matching the query, as ``{column: value}`` strings (the CSV's), page after page.

        Args:
            directory: where the files and the jobs' ids are kept, making the export resumable; without one, a
                temporary folder, each page's file deleted once read.
            callback_url, notices: Zoho posts to ``callback_url`` when each job ends; the caller's handler calls
                ``notices.notify(job_id)``, and the job's status is read at once (else only rarely).

        Raises:
            ValueError: a bad argument (nothing is sent).
            BulkJobFailed, BulkFileError, APIError, TransportError.
        """
        body = _body(module, fields, criteria, cvid, None, None, callback_url)
        with contextlib.ExitStack() as stack:
            scratch = None if directory is not None else stack.enter_context(tempfile.TemporaryDirectory())
            folder = Path(directory if directory is not None else str(scratch))
            state = _State(folder, body)
            keep = directory is not None
            export = _Export(self, state, callback_url, notices, max_download_bytes, max_csv_bytes, keep=keep)
            async for row in export.rows():
                yield row


def _read_done(job: BulkReadJob) -> bool:
    return job.done


class _Export:
    """One export's chain of jobs: create, wait, download, read, next page."""

    def __init__(
        self, bulk: BulkRead, state: _State, callback_url: str | None, notices: JobNotices | None,
        max_download_bytes: int, max_csv_bytes: int, *, keep: bool,
    ) -> None:  # fmt: skip
        self._bulk, self._state, self._callback, self._notices = bulk, state, callback_url, notices
        self._max_download, self._max_csv, self._keep = max_download_bytes, max_csv_bytes, keep

    async def rows(self) -> AsyncIterator[dict[str, str]]:
        page, token = 1, None
        while True:
            job = await self._completed_job(page, token)
            async for row in self._page_rows(page, job):
                yield row
            result = job.result
            if result is None or not result.more_records:
                return
            page, token = page + 1, result.next_page_token

    async def _completed_job(self, page: int, token: str | None) -> BulkReadJob:
        known = self._state.job(page)
        if known is not None:
            try:
                job = await self._bulk.status(known)
                if job.state not in READ_FAILED:
                    return job if job.state == "COMPLETED" else await self._bulk.wait(known, notices=self._notices)
            except (NotFoundError, InvalidRequestError, BulkJobFailed):
                pass  # Zoho no longer has it (or it failed): a new job for the page
        query = self._state.query
        job = await self._bulk.create(
            query["module"]["api_name"], fields=query.get("fields", ()), criteria=query.get("criteria"),
            cvid=query.get("cvid"), page=None if token else page, page_token=token, callback_url=self._callback,
        )  # fmt: skip
        self._state.remember(page, job.id)
        return await self._bulk.wait(job.id, notices=self._notices)

    async def _page_rows(self, page: int, job: BulkReadJob) -> AsyncIterator[dict[str, str]]:
        file = self._state.folder / f"page-{page}.zip"
        for attempt in (1, 2):
            if not file.exists():
                await self._bulk.download(job, file, max_bytes=self._max_download)
            yielded = 0
            try:
                async for row in read_csv_rows(file, max_csv_bytes=self._max_csv):
                    yielded += 1
                    yield row
            except BulkFileError:
                if yielded or attempt == 2:
                    raise
                file.unlink()  # a resumed file that does not read: once more, from the start
                continue
            if not self._keep:
                file.unlink()
            return


class _State:
    """The export's query and the job id of each page, kept in ``bulk-read.json`` when the folder is the caller's."""

    def __init__(self, folder: Path, body: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.query: dict[str, Any] = body["query"]
        self._key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        self._jobs: dict[str, str] = {}
        path = folder / _STATE
        try:
            saved = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError):
            saved = {}
        if isinstance(saved, dict) and saved.get("query") == self._key and isinstance(saved.get("jobs"), dict):
            self._jobs = {str(k): str(v) for k, v in saved["jobs"].items()}
        else:  # another query's files: none of them is this export's
            for stale in folder.glob("page-*.zip*"):
                stale.unlink()

    def job(self, page: int) -> str | None:
        return self._jobs.get(str(page))

    def remember(self, page: int, job_id: str) -> None:
        self._jobs[str(page)] = job_id
        temporary = self.folder / f"{_STATE}.tmp"
        temporary.write_text(json.dumps({"query": self._key, "jobs": self._jobs}))
        temporary.replace(self.folder / _STATE)


def _checked_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not job_id.isascii() or not job_id.isalnum():
        raise ValueError(f"a bulk job id is letters and digits, got {job_id!r}")
    return job_id


def _body(
    module: str, fields: Sequence[str], criteria: Mapping[str, Any] | None, cvid: str | None,
    page: int | None, page_token: str | None, callback_url: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Create Bulk Read Job's body, every argument checked first (a clear ValueError, nothing sent)."""
    if not isinstance(module, str) or not module.strip() or "/" in module:
        raise ValueError(f"module must be a module's API name, got {module!r}")
    if isinstance(fields, str) or not all(isinstance(f, str) and f.strip() for f in fields):
        raise ValueError("fields must be a list of field API names (an empty list exports every field)")
    if criteria is not None and not isinstance(criteria, Mapping):
        raise ValueError("criteria must be a mapping: {'field': {'api_name': ...}, 'comparator': ..., 'value': ...}")
    if page is not None and page_token is not None:
        raise ValueError("page and page_token cannot be used together")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool) or page < 1):
        raise ValueError(f"page must be a positive integer, got {page!r}")
    query: dict[str, Any] = {"module": {"api_name": module}}
    if fields:
        query["fields"] = list(fields)
    if criteria is not None:
        query["criteria"] = dict(criteria)
    if cvid is not None:
        query["cvid"] = cvid
    if page is not None:
        query["page"] = page
    if page_token is not None:
        query["page_token"] = page_token
    body: dict[str, Any] = {"query": query, "file_type": "csv"}
    if callback_url is not None:
        body["callback"] = {"url": checked_pinned_url(callback_url, "callback_url"), "method": "post"}
    return body
