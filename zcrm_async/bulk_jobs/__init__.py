"""Bulk Read and Bulk Write: Zoho's asynchronous jobs for exports and imports of many records, as CSV in ZIPs.

``crm.bulk.read`` exports (``export(...)`` streams every row of a query past 200,000, resumably), and
``crm.bulk.write`` imports (``run(...)`` gives one ``ItemResult`` per input row). Both wait for their jobs on the
client's budget (see ``Poll``), or on Zoho's callbacks reported to ``JobNotices``. Files from the server are
untrusted: see ``_zip`` and ``_download``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ._models import BulkReadJob, BulkReadResult, BulkWriteFile, BulkWriteJob, BulkWriteResource
from ._read import BulkRead
from ._wait import JobNotices, Poll
from ._write import MAX_ROWS_PER_JOB, MAX_ZIP_BYTES, BulkWrite

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = [
    "MAX_ROWS_PER_JOB",
    "MAX_ZIP_BYTES",
    "BulkJobs",
    "BulkRead",
    "BulkReadJob",
    "BulkReadResult",
    "BulkWrite",
    "BulkWriteFile",
    "BulkWriteJob",
    "BulkWriteResource",
    "JobNotices",
    "Poll",
]


class BulkJobs:
    """``crm.bulk``: ``read`` (Bulk Read) and ``write`` (Bulk Write). ``poll`` says how often job states are read;
    waits sleep with the client's ``sleep``."""

    def __init__(self, crm: ZohoCRM, *, poll: Poll | None = None) -> None:
        self.poll = poll or Poll()
        sleep: Callable[[float], Awaitable[None]] = crm._sleep  # the client's, so tests that inject one drive both
        self.read = BulkRead(crm, poll=self.poll, sleep=sleep)
        self.write = BulkWrite(crm, poll=self.poll, sleep=sleep)
