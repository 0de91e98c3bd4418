"""What FakeZoho's Bulk Read and Bulk Write jobs share: their states over time, their files, their callbacks.

- A job is ``ADDED`` for its first third of ``FakeConfig.bulk_job_seconds`` (on ``FakeConfig.clock``), then
  ``IN PROGRESS``, then done: ``COMPLETED``, or failed (``FAILURE`` for Bulk Read, as the doc page's callback
  sample spells it; ``FAILED`` for Bulk Write, as its OpenAPI file does) when a test asked for it
  (``fake.bulk.fail_next``). ``bulk_job_seconds=0`` makes jobs complete at once.
- Files are real ZIPs of one CSV, built when the job completes. A test may swap the next one
  (``fake.bulk.next_file``: a broken or hostile ZIP), hand out download URLs on another origin
  (``download_origin``), or cut the next downloads after some bytes (``cut_downloads``, ``cut_after``).
- Downloads honour ``Range: bytes=N-`` with a 206 and ``Content-Range`` (416 past the end); Zoho's pages say
  nothing of ranges, and a client must cope with either answer.
- Callbacks: when a job was created with a callback URL, FakeZoho posts the job's summary to it once the job is
  done. Only URLs on this machine (127.0.0.1, ::1, localhost) are accepted (others answer INVALID_CALLBACK_URL):
  a fake never calls out of the machine, where Zoho would call any public URL.
"""

from __future__ import annotations

import asyncio
import io
import re
import urllib.parse
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from ._fake_wire import ENCODE, error

if TYPE_CHECKING:
    from ._fake_app import FakeApp

#: A job's callback body once it is done, else None.
Summary = Callable[["FakeApp", "Job"], "dict[str, Any] | None"]
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_RANGE = re.compile(r"bytes=(\d+)-")


class Job:
    """One Bulk job; ``body`` is what the client sent, ``file`` the result ZIP once built."""

    __slots__ = ("body", "callback", "created", "fail_reason", "file", "finished", "id", "kind", "notified", "summary")

    def __init__(self, job_id: str, kind: str, body: dict[str, Any], created: float, callback: str | None) -> None:
        self.id = job_id
        self.kind = kind
        self.body = body
        self.created = created
        self.callback = callback
        self.fail_reason: str | None = None
        self.file: bytes | None = None
        self.finished = False
        self.notified = False
        #: Counts and the like, filled in when the job completes.
        self.summary: dict[str, Any] = {}


class BulkStore:
    """Every Bulk job and uploaded file of the org, and the knobs tests turn."""

    __slots__ = (
        "cut_after", "cut_downloads", "download_origin", "downloads", "fail_next", "files", "jobs", "next_file",
        "range_requests", "status_reads",
    )  # fmt: skip

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        #: Uploaded files by file_id.
        self.files: dict[str, bytes] = {}
        #: Jobs still to be created failed, and why.
        self.fail_next: list[str] = []
        #: The next completed job's file, instead of the one it would build.
        self.next_file: bytes | None = None
        #: An origin (``https://evil.example``) download URLs name instead of a path on this server.
        self.download_origin: str | None = None
        #: Downloads still to be cut after ``cut_after`` bytes (the connection closed mid-body).
        self.cut_downloads = 0
        self.cut_after = 0
        #: Counters for tests: status reads, downloads served, downloads that asked for a range.
        self.status_reads = 0
        self.downloads = 0
        self.range_requests = 0

    def add(self, fake: FakeApp, kind: str, body: dict[str, Any], callback: str | None, summary: Summary) -> Job:
        """A new job; with a callback, a task that posts ``summary(fake, job)`` once it is not None."""
        job = Job(fake.world.new_id(), kind, body, fake.config.clock(), callback)
        if self.fail_next:
            job.fail_reason = self.fail_next.pop(0)
        self.jobs[job.id] = job
        if callback is not None:
            task = asyncio.get_running_loop().create_task(_call_back_when_done(fake, job, summary))
            fake.handlers.add(task)  # ended with the fake, if it is still waiting then
            task.add_done_callback(fake.handlers.discard)
        return job


def state(fake: FakeApp, job: Job, failed: str) -> str:
    """The job's state now; the first time it is seen done, ``finish`` runs (once)."""
    elapsed = fake.config.clock() - job.created
    total = fake.config.bulk_job_seconds
    if elapsed < total / 3:
        return "ADDED"
    if elapsed < total:
        return "IN PROGRESS"
    return failed if job.fail_reason is not None else "COMPLETED"


def zip_of(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def take_file(store: BulkStore, build: Callable[[], bytes]) -> bytes:
    """The file a completed job hands out: the test's swapped one, else the one built from the data."""
    if store.next_file is not None:
        swapped, store.next_file = store.next_file, None
        return swapped
    return build()


def download_url(store: BulkStore, path: str) -> str:
    return f"{store.download_origin}{path}" if store.download_origin else path


def callback_problem(body: dict[str, Any]) -> web.Response | None:
    """A callback other than ``{"url": <on this machine>, "method": "post"}`` answers Zoho's errors."""
    callback = body.get("callback")
    if callback is None:
        return None
    if not isinstance(callback, dict) or callback.get("method") != "post":
        details = {"supported_callback_methods": ["post"]}
        return error(400, "INVALID_CALLBACK_METHOD", "the callback method is not valid", details)
    url = callback.get("url")
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or (parts.hostname or "") not in _LOOPBACK:
        return error(400, "INVALID_CALLBACK_URL", "the callback URL is not valid (this fake calls back only on "
                     "this machine)", {"api_name": "url"})  # fmt: skip
    return None


async def serve_file(store: BulkStore, request: web.Request, data: bytes, name: str) -> web.StreamResponse:
    """The file, or the part of it a ``Range: bytes=N-`` asks for; cut short when a test asked for it."""
    store.downloads += 1
    start, status = 0, 200
    headers = {"Content-Type": "application/zip", "Content-Disposition": f'attachment; filename="{name}"'}
    match = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if match:
        store.range_requests += 1
        start = int(match.group(1))
        if start >= len(data):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        status = 206
        headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    body = data[start:]
    if store.cut_downloads > 0 and store.cut_after < len(body):
        store.cut_downloads -= 1
        response = web.StreamResponse(status=status, headers={**headers, "Content-Length": str(len(body))})
        await response.prepare(request)
        await response.write(body[: store.cut_after])
        if request.transport is not None:
            request.transport.close()
        return response
    return web.Response(body=body, status=status, headers=headers)


async def _call_back_when_done(fake: FakeApp, job: Job, summary_of: Summary) -> None:
    """Post the job's summary to its callback URL once it is done (checked every 10 ms of real time)."""
    while True:
        summary = summary_of(fake, job)
        if summary is not None:
            break
        await asyncio.sleep(0.01)
    assert job.callback is not None
    async with aiohttp.ClientSession() as session:
        try:
            async with session.post(job.callback, data=ENCODE(summary), headers={"Content-Type": "application/json"}):
                job.notified = True
        except aiohttp.ClientError:
            pass  # Zoho does not retry a callback either (its pages name no retry)
