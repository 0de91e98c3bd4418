"""The ZIP files of the Bulk APIs: reading a result's one CSV row by row, and writing an import's CSV zipped.

Everything in a file the server sends is untrusted:

- a member's name is checked to be a plain file name (no folder, no ``..``, no control character) and is never
  used as a path: the CSV is read from the member's stream, nothing is extracted to disk;
- the member's declared size is bounded (``max_csv_bytes``), and ``zipfile`` reads no more than it declares and
  checks its CRC at the end, so a lying header ends in an error, not in an endless stream;
- a file that is not a ZIP, is encrypted, holds other than one CSV, or whose CSV does not parse gives a
  ``BulkFileError`` that says which, with the row's line number where there is one.

Memory stays constant: rows are decoded one at a time from the compressed stream (CSV fields are bounded by the
``csv`` module's field size limit). The blocking reads run in a worker thread, a batch of rows at a time, so a
large file never holds up the event loop.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from .._errors import BulkFileError

__all__ = ["DEFAULT_MAX_CSV_BYTES", "cell", "read_csv_rows", "safe_member_name", "write_csv_zip"]

#: 8 GiB of CSV: far above 200,000 records of 200 columns, far below what would fill a disk by surprise.
DEFAULT_MAX_CSV_BYTES = 8 * 1024**3
#: Rows decoded per hop to the worker thread.
_BATCH = 2_000
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,250}\.csv", re.IGNORECASE)


def safe_member_name(name: str) -> str:
    """``name`` if it is a plain CSV file name (``123.csv``); else ``BulkFileError``. Only ever shown, never a path."""
    if _PLAIN_NAME.fullmatch(name) is None or ".." in name:
        raise BulkFileError(f"the result file holds a member named {name!r}, which is not a plain CSV file name")
    return name


def _csv_member(archive: zipfile.ZipFile, max_csv_bytes: int) -> zipfile.ZipInfo:
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) != 1:
        names = ", ".join(repr(info.filename) for info in members[:5]) or "nothing"
        raise BulkFileError(f"the result file should hold one CSV file; it holds {len(members)} ({names})")
    member = members[0]
    safe_member_name(member.filename)
    if member.flag_bits & 0x1:
        raise BulkFileError(f"the result file's {member.filename!r} is encrypted")
    if member.file_size > max_csv_bytes:
        raise BulkFileError(
            f"the result file's {member.filename!r} says it holds {member.file_size:,} bytes, more than the "
            f"{max_csv_bytes:,} allowed (max_csv_bytes)"
        )
    return member


def _rows(path: Path, max_csv_bytes: int) -> Generator[dict[str, str], None, None]:
    """The CSV's rows as ``{column: value}``; every failure a ``BulkFileError``."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _csv_member(archive, max_csv_bytes)
            with archive.open(member) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                yield from _parse(csv.reader(text), member.filename)
    except BulkFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        raise BulkFileError(f"the result file {path.name} is not a readable ZIP: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BulkFileError(f"the result file's CSV is not UTF-8: {exc}") from None
    except OSError as exc:
        raise BulkFileError(f"the result file {path.name} could not be read: {exc}") from None


def _parse(reader: Iterator[list[str]], name: str) -> Iterator[dict[str, str]]:
    try:
        header = next(reader, None)
        if header is None:
            return
        width = len(header)
        for row in reader:
            if len(row) != width:
                line = getattr(reader, "line_num", "?")
                raise BulkFileError(f"{name} line {line}: {len(row)} values under {width} columns")
            yield dict(zip(header, row, strict=True))
    except csv.Error as exc:
        line = getattr(reader, "line_num", "?")
        raise BulkFileError(f"{name} line {line}: {exc}") from None


async def read_csv_rows(path: Path, *, max_csv_bytes: int = DEFAULT_MAX_CSV_BYTES) -> AsyncIterator[dict[str, str]]:
    """Every row of the one CSV inside the ZIP at ``path``, in file order, in constant memory."""
    rows = _rows(path, max_csv_bytes)

    def batch() -> list[dict[str, str]]:
        out = []
        for row in rows:
            out.append(row)
            if len(out) >= _BATCH:
                break
        return out

    try:
        while chunk := await anyio.to_thread.run_sync(batch):
            for row in chunk:
                yield row
    finally:
        rows.close()


def write_csv_zip(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], path: Path, *, member: str = "data.csv"
) -> int:
    """Write ``rows`` (only ``columns``, in that order; a missing value is empty) as the one CSV of a new ZIP at
    ``path``, streamed (constant memory); returns how many rows were written."""
    count = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open(member, "w") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(column)) for column in columns])
            count += 1
        text.flush()
        text.detach()
    return count


def cell(value: Any) -> str:
    """A value as the CSV writes it (None empty, booleans as Zoho spells them)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
