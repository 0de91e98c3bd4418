"""Downloading a Bulk job's result file to disk: streamed, bounded, resumable, and never off Zoho's hosts.

- The body goes to a ``.part`` file chunk by chunk (the transport's ``BodySink``), never into memory, and is
  refused past ``max_bytes``; the file takes its final name only once complete.
- Resume: a ``.part`` file left by an earlier try (a dropped connection, a killed process) is continued with a
  ``Range`` request. The server decides: a 206 whose ``Content-Range`` starts where the file ends is appended; a
  200 (the server ignores ranges) rewrites the file from the start. Either way the bytes are the server's whole
  file once; a resumed file that then does not open as a ZIP is fetched again from the start, once, by the caller.
- The URL: Zoho hands back a path (``/crm/bulk/v8/read/{id}/result``) or an absolute URL. A path goes to the API
  domain; an absolute URL only when it is the API domain itself or https on one of Zoho's API hosts. Anything
  else is refused before a request is made: the request carries the access token.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .._client import Target, raise_for_status
from .._errors import BulkFileError, ResponseTooLarge
from .._origins import is_zoho_api_domain

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["DEFAULT_MAX_DOWNLOAD_BYTES", "download", "download_target"]

#: 2 GiB: a Bulk Read page is 200,000 records; zipped, even wide records stay far below this.
DEFAULT_MAX_DOWNLOAD_BYTES = 2 * 1024**3
_RANGE_START = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")


def download_target(crm: ZohoCRM, url: str) -> tuple[str, str | None]:
    """``(path, origin)`` to request ``url`` with (origin None: the API domain); ``ValueError`` when ``url`` is
    not on the API domain nor on one of Zoho's API hosts."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme and not parts.netloc:
        if not parts.path.startswith("/"):
            raise ValueError(f"the download URL {url!r} is neither a path nor an absolute URL")
        return _path_of(parts), None
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin.lower() == crm.api_domain.lower():
        return _path_of(parts), None
    if is_zoho_api_domain(origin) and not parts.username and not parts.password:
        return _path_of(parts), origin
    raise ValueError(
        f"the download URL points at {parts.hostname!r}, which is neither the API domain nor one of Zoho's API "
        "hosts; it is not requested (the request would carry the access token)"
    )


def _path_of(parts: urllib.parse.SplitResult) -> str:
    return parts.path + (f"?{parts.query}" if parts.query else "")


class FileSink:
    """The transport's ``BodySink`` for one download try: a 206 that continues the file is appended, a 200
    rewrites it, anything else (an error answer) is left to the caller."""

    __slots__ = ("_file", "_max", "_start", "accepted", "resumed", "written")

    def __init__(self, file: BinaryIO, *, start: int, max_bytes: int) -> None:
        self._file = file
        self._start = start
        self._max = max_bytes
        self.accepted = False
        self.resumed = False
        self.written = 0

    def accept(self, status: int, headers: Mapping[str, str]) -> bool:
        if status == 206 and self._start and _range_start(headers) == self._start:
            self._rewind(self._start)
            self.resumed = True
        elif status == 200:
            self._rewind(0)
            self.resumed = False
        else:
            return False
        self.accepted = True
        return True

    def _rewind(self, offset: int) -> None:
        try:
            self._file.seek(offset)
            self._file.truncate()
        except OSError as exc:
            raise BulkFileError(f"the download could not be written: {exc}") from None
        self.written = offset

    def write(self, chunk: bytes) -> None:
        self.written += len(chunk)
        if self.written > self._max:
            raise ResponseTooLarge(f"the result file is larger than {self._max:,} bytes (max_download_bytes)")
        try:
            self._file.write(chunk)
        except OSError as exc:  # not a TransportError: a full disk is not worth a resend
            raise BulkFileError(f"the download could not be written: {exc}") from None


def _range_start(headers: Mapping[str, str]) -> int | None:
    value = next((v for k, v in headers.items() if k.lower() == "content-range"), None)
    match = _RANGE_START.fullmatch(value.strip()) if value else None
    return int(match.group(1)) if match else None


async def download(crm: ZohoCRM, url: str, destination: Path, *, operation: str, max_bytes: int) -> bool:
    """Download ``url`` to ``destination`` (through ``destination.part``); True when a partial file was resumed.

    Raises:
        ValueError: ``url`` is off Zoho's hosts (nothing is sent).
        APIError: Zoho answered an error.
        TransportError: no complete answer after the client's retries (the ``.part`` file stays, to resume).
        BulkFileError: the disk refused the file.
    """
    path, origin = download_target(crm, url)
    part = destination.with_name(destination.name + ".part")
    with _open_part(part) as file:
        start = file.seek(0, os.SEEK_END)
        headers = {"Range": f"bytes={start}-"} if start else None
        sink = FileSink(file, start=start, max_bytes=max_bytes)
        response = await crm.request(
            "GET", path, operation=operation, headers=headers, target=Target(prefix="", origin=origin, sink=sink)
        )
        if response.status == 416:  # the part is no prefix of the server's file: start again
            sink = FileSink(file, start=0, max_bytes=max_bytes)
            target = Target(prefix="", origin=origin, sink=sink)
            response = await crm.request("GET", path, operation=operation, target=target)
        raise_for_status(response)
        if not sink.accepted and response.status in (200, 206) and sink.accept(response.status, response.headers):
            sink.write(response.content)  # a transport that reads bodies into memory (MockTransport)
        if not sink.accepted:
            raise BulkFileError(f"the download answered {response.status} without the file")
        _finish(file, part, destination)
    return sink.resumed


def _open_part(part: Path) -> BinaryIO:
    """The ``.part`` file, kept as it is (to resume) or created."""
    try:
        return open(part, "r+b" if part.exists() else "w+b")
    except OSError as exc:
        raise BulkFileError(f"the download could not be written: {exc}") from None


def _finish(file: BinaryIO, part: Path, destination: Path) -> None:
    """Durable, then under its final name: a crash leaves a ``.part`` to resume, never a short final file."""
    try:
        file.flush()
        os.fsync(file.fileno())
        part.replace(destination)
    except OSError as exc:
        raise BulkFileError(f"the download could not be written: {exc}") from None
