"""A backfill file's rows, read so that no input can crash the reader or fill memory: each row is its fields,
or why it cannot be used, with the line it starts on.

Lines end at a line break ("\\n"; in a CSV file also "\\r\\n" or a lone "\\r", as the csv module reads them),
never at U+2028, so a name holding one moves no later line number. Each line is checked on its own (bytes that
are not UTF-8 refuse that row, not the file), and none is held beyond ``MAX_LINE_BYTES``: a longer line is
skipped unread, and refused. A CSV row spread over several lines by a quoted field gets the same bound. JSON
numbers keep their digits as text (no integer of any length is converted), JSON nested too deep and repeated
keys are refused, and so is a repeated column in a CSV header: which value counts would be a guess.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = [
    "FIELDS", "MAX_FIELD_CHARS", "MAX_LINE_BYTES", "InputError", "Parsed", "csv_rows", "jsonl_rows",
]  # fmt: skip

#: Every field a backfill row may carry, in report order.
FIELDS = ("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name")

#: The longest a field may be. Zoho's Link and Unlink Deal to Emails accept ids of at most 100 digits, message
#: ids of at most 500 characters and a deal's name of at most 255; an owner's name gets a deal name's bound.
MAX_FIELD_CHARS: Mapping[str, int] = {
    "contact_id": 100, "deal_id": 100, "owner_id": 100, "message_id": 500, "deal_name": 255, "owner_name": 255,
}  # fmt: skip

#: The most one row may take, line breaks included: every field at its longest, escaped, fits many times over.
MAX_LINE_BYTES = 64 * 1024

#: Why a row whose quoted field runs past its line is refused (read after "line N ").
UNCLOSED_QUOTE = (
    "opens a quote it does not close (the row it would make has not the header's columns); the lines after it "
    "are read as rows of their own"
)

#: What ``surrogateescape`` makes of bytes that are not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")

#: A row's fields, or why the row cannot be used (read after "line N ").
Parsed = dict[str, str] | str


class InputError(ValueError):
    """The file as a whole is unusable (missing, unreadable, a CSV header without the needed columns)."""


class _BadLine(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem

    def for_row(self, start: int) -> str:
        """The problem, said of the row that starts on line ``start``."""
        return self.problem if self.line == start else f"runs on to line {self.line}, which {self.problem}"


class _Lines:
    """The lines of a binary stream, decoded and numbered from 1. A bad line raises ``_BadLine`` and reading goes
    on with the next one; ``mark`` starts the bound of a row that spans lines.

    ``newline`` is the text layer's: "" ends a line at "\\n", "\\r\\n" or a lone "\\r" (what the csv module
    expects, so a classic Mac file reads too), "\\n" at "\\n" only (JSON lines). Neither ends one at U+2028.
    """

    def __init__(self, stream: IO[bytes], newline: str) -> None:
        # surrogateescape: a byte that is not UTF-8 is kept as a marker and refuses its own line; a strict decoder
        # would fail a whole chunk of the file, not a line.
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline=newline)
        self.number = 0
        self._taken = 0
        #: The lines of the row being read (from ``mark``), and lines given back to be read again.
        self._row: list[str] = []
        self._again: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def release(self) -> None:
        """Leave the stream to its owner, open: the text layer would close it when collected. (A reader dropped
        half-way may be collected after its owner closed the stream: then there is nothing to leave.)"""
        if not self._text.buffer.closed:
            self._text.detach()

    def mark(self) -> int:
        """A row starts here: returns the number its first line will have."""
        self._taken = 0
        self._row = []
        return self.number + 1

    def read_again_after_first(self) -> None:
        """The row's lines after its first are read again, as rows of their own (a quote left open took them)."""
        self._again = self._row[1:] + self._again
        self.number -= len(self._row) - 1
        self._row = []

    def __next__(self) -> str:
        if self._again:
            self.number += 1
            line = self._again.pop(0)
            self._row.append(line)
            return line
        line = self._text.readline(MAX_LINE_BYTES + 1)  # characters: never fewer than bytes
        if not line:
            raise StopIteration
        self.number += 1
        size = len(line) if line.isascii() else len(line.encode("utf-8", "surrogateescape"))
        if size > MAX_LINE_BYTES:
            if len(line) > MAX_LINE_BYTES and not line.endswith(("\n", "\r")):
                self._skip_rest_of_line()
            raise _BadLine(self.number, f"is over {MAX_LINE_BYTES:,} bytes long")
        self._taken += size
        if self._taken > MAX_LINE_BYTES:
            raise _BadLine(self.number, f"takes the row over {MAX_LINE_BYTES:,} bytes (a quote left open?)")
        if not line.isascii() and (bad := _NOT_UTF8.search(line)):
            raise _BadLine(self.number, f"is not UTF-8 text (character {bad.start() + 1} of the line)")
        self._row.append(line)
        return line

    def _skip_rest_of_line(self) -> None:
        while chunk := self._text.readline(MAX_LINE_BYTES):
            if chunk.endswith(("\n", "\r")):
                return


def csv_rows(stream: IO[bytes], required: Sequence[str], path: Path) -> Generator[tuple[int, Parsed]]:
    """The rows after a CSV header naming every ``required`` column, each with the line it starts on.

    Raises:
        InputError: the header cannot be read, lacks a required column, or names a column twice.
    """
    lines = _Lines(stream, newline="")
    try:
        yield from _csv_records(lines, _header(lines, required, path))
    finally:
        lines.release()


def _csv_records(lines: _Lines, header: list[str]) -> Iterator[tuple[int, Parsed]]:
    # Which columns are fields, and each one's bound: worked out once, not once a row.
    columns = [(i, name, MAX_FIELD_CHARS[name]) for i, name in enumerate(header) if name in FIELDS]
    width = len(header)
    reader = csv.reader(lines)
    while True:
        start = lines.mark()
        try:
            values = next(reader)
        except StopIteration:
            return
        except _BadLine as exc:
            yield start, exc.for_row(start)
            reader = csv.reader(lines)  # the old one is stuck mid-row: read on from the next line
            continue
        except csv.Error as exc:
            yield start, f"is not valid CSV ({exc})"
            reader = csv.reader(lines)
            continue
        if _quote_left_open(lines.number > start, values, header):
            # The quote would take the next lines into this row: it is refused, and they are rows of their own.
            yield start, UNCLOSED_QUOTE
            lines.read_again_after_first()
            reader = csv.reader(lines)
            continue
        if values:  # a blank line is no row
            yield start, _csv_fields(columns, width, values)


def _quote_left_open(spans_lines: bool, values: list[str], header: list[str]) -> bool:
    """A row spread over lines whose columns do not match the header: a quote opened and never closed on its line.
    (A quoted line break in a row that has the header's columns is a name holding one, and is kept.)"""
    return spans_lines and len(values) != len(header) and any("\n" in value or "\r" in value for value in values)


def _header(lines: _Lines, required: Sequence[str], path: Path) -> list[str]:
    reader = csv.reader(lines)
    try:
        while True:  # blank lines before the header are no header
            start = lines.mark()
            values = next(reader, None)
            if values is None or values:
                break
    except (_BadLine, csv.Error) as exc:
        problem = exc.for_row(start) if isinstance(exc, _BadLine) else f"is not valid CSV ({exc})"
        raise InputError(f"{path}: the CSV header (line {start}) {problem}") from None
    header = [name.strip() for name in values or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(f"{path}: the CSV header (line {start}) lacks {', '.join(missing)}; it has {header}")
    repeated = sorted({name for name in header if name in FIELDS and header.count(name) > 1})
    if repeated:
        raise InputError(
            f"{path}: the CSV header (line {start}) names {', '.join(repeated)} more than once; "
            "which column counts would be a guess"
        )
    return header


def _csv_fields(columns: list[tuple[int, str, int]], width: int, values: list[str]) -> Parsed:
    """A row's fields by the header's ``columns`` (index, name, longest allowed), or why the row is refused."""
    count = len(values)
    if count > width:
        return f"has {count} columns; the header has {width}"
    fields: dict[str, str] = {}
    for i, name, limit in columns:  # in the header's order: the first field too long is the one named
        value = values[i].strip() if i < count else ""
        if len(value) > limit:
            return _too_long_field(name, value, limit)
        fields[name] = value
    return fields


def jsonl_rows(stream: IO[bytes]) -> Iterator[tuple[int, Parsed]]:
    """One JSON object a line; blank lines are skipped."""
    lines = _Lines(stream, newline="\n")
    try:
        while True:
            lines.mark()
            try:
                text = next(lines)
            except StopIteration:
                return
            except _BadLine as exc:
                yield exc.line, exc.problem
                continue
            if text.strip():
                yield lines.number, _json_fields(text)
    finally:
        lines.release()


class _RepeatedKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value and key in FIELDS:
            raise _RepeatedKey(key)
        value[key] = item
    return value


def _json_fields(text: str) -> Parsed:
    try:
        # parse_int=str: an id given as a number keeps its digits, however many (int() of a long one raises).
        value = json.loads(text, parse_int=str, object_pairs_hook=_unique_keys)
    except _RepeatedKey as exc:
        return f"names {exc} more than once; which value counts would be a guess"
    except RecursionError:
        return "is JSON nested too deeply"
    except ValueError as exc:  # JSONDecodeError included
        return f"is not valid JSON ({getattr(exc, 'msg', exc)})"
    if not isinstance(value, dict):
        return f"is a JSON {_json_kind(value, text)}, expected an object"
    fields = {key: _text(item) for key, item in value.items() if key in FIELDS and item is not None}
    return _too_long(fields) or fields


def _json_kind(value: object, text: str) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string" if text.lstrip().startswith('"') else "number"
    return "number" if isinstance(value, float) else "literal"


def _text(value: object) -> str:
    # Anything but a string or a number's digits (booleans, fractions, arrays) is kept visible, so the row's
    # checks refuse it by name.
    return value.strip() if isinstance(value, str) else repr(value)


def _too_long(fields: Mapping[str, str]) -> str | None:
    for name, value in fields.items():
        limit = MAX_FIELD_CHARS[name]
        if len(value) > limit:
            return _too_long_field(name, value, limit)
    return None


def _too_long_field(name: str, value: str, limit: int) -> str:
    return f"has {name} of {len(value):,} characters; at most {limit} are allowed"
