"""What the Bulk Read and Bulk Write APIs answer, as msgspec Structs (Zoho's "Bulk Read" and "Bulk Write" pages).

Where Zoho's sources disagree, both forms are read: a Bulk Read failure is ``FAILURE`` (the doc page's callback
sample) or ``FAILED``; a Bulk Write job in progress is ``IN PROGRESS`` or ``INPROGRESS``; an uploaded file's
``file_id`` is a string (the doc page) or a number (the OpenAPI file).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "READ_FAILED",
    "WRITE_DONE",
    "WRITE_FAILED",
    "BulkReadJob",
    "BulkReadResult",
    "BulkWriteFile",
    "BulkWriteJob",
    "BulkWriteResource",
]

#: States that end a Bulk Read job in failure.
READ_FAILED = frozenset({"FAILURE", "FAILED"})
#: States that end a Bulk Write job.
WRITE_DONE = frozenset({"COMPLETED", "FAILED", "SKIPPED"})
#: Those that end it with nothing written.
WRITE_FAILED = frozenset({"FAILED", "SKIPPED"})


class BulkReadResult(msgspec.Struct, kw_only=True, frozen=True):
    """A Bulk Read job's ``result``: where its file is, and whether more records follow (``more_records``)."""

    page: int = 1
    per_page: int = 200_000
    count: int = 0
    download_url: str | None = None
    more_records: bool = False
    next_page_token: str | None = None
    error_message: str | None = None


class BulkReadJob(msgspec.Struct, kw_only=True, frozen=True):
    """One Bulk Read job: ``state`` is ``ADDED``, ``QUEUED``, ``IN PROGRESS``, ``COMPLETED`` or ``FAILURE``."""

    id: str
    state: str
    operation: str = "read"
    created_time: str | None = None
    result: BulkReadResult | None = None

    @property
    def done(self) -> bool:
        return self.state == "COMPLETED" or self.state in READ_FAILED


class BulkWriteFile(msgspec.Struct, kw_only=True, frozen=True):
    """A Bulk Write resource's file: its counts once processed."""

    status: str | None = None
    name: str | None = None
    added_count: int = 0
    skipped_count: int = 0
    updated_count: int = 0
    total_count: int = 0


class BulkWriteResource(msgspec.Struct, kw_only=True, frozen=True):
    status: str | None = None
    type: str | None = None
    module: dict[str, Any] | None = None
    code: str | None = None
    file: BulkWriteFile | None = None


class _DownloadUrl(msgspec.Struct, kw_only=True, frozen=True):
    download_url: str | None = None


class BulkWriteJob(msgspec.Struct, kw_only=True, frozen=True):
    """One Bulk Write job: ``status`` is ``ADDED``, ``IN PROGRESS``, ``COMPLETED``, ``FAILED`` or ``SKIPPED``."""

    id: str
    status: str
    operation: str | None = None
    created_time: str | None = None
    resource: list[BulkWriteResource] = msgspec.field(default_factory=list)
    result: _DownloadUrl | None = None

    @property
    def state(self) -> str:
        return "IN PROGRESS" if self.status == "INPROGRESS" else self.status

    @property
    def done(self) -> bool:
        return self.state in WRITE_DONE

    @property
    def download_url(self) -> str | None:
        return self.result.download_url if self.result is not None else None


# -- the envelopes -------------------------------------------------------------------------------------------


class _Created(msgspec.Struct, kw_only=True, frozen=True):
    status: str
    code: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class CreatedRead(msgspec.Struct, kw_only=True, frozen=True):
    data: list[_Created]


class ReadDetails(msgspec.Struct, kw_only=True, frozen=True):
    data: list[BulkReadJob]


class CreatedWrite(msgspec.Struct, kw_only=True, frozen=True):
    """Create Bulk Write Job's and Upload File's answers: ``details`` has the job's ``id`` or the ``file_id``."""

    status: str
    code: str | None = None
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class Org(msgspec.Struct, kw_only=True, frozen=True):
    zgid: str | int | None = None
    id: str | int | None = None


class OrgAnswer(msgspec.Struct, kw_only=True, frozen=True):
    org: list[Org]


decode_created_read = msgspec.json.Decoder(CreatedRead).decode
decode_read_details = msgspec.json.Decoder(ReadDetails).decode
decode_created_write = msgspec.json.Decoder(CreatedWrite).decode
decode_write_job = msgspec.json.Decoder(BulkWriteJob).decode
decode_org = msgspec.json.Decoder(OrgAnswer).decode
encode = msgspec.json.Encoder().encode
