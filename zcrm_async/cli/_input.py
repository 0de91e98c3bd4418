"""Reading a backfill file (CSV with a header, or JSONL) into rows, each valid or refused with its line number.

Nothing here holds the whole file: ``open_input`` streams it once for its identity (size and sha256, the journal is
bound to it, so a resumed run provably reads the same rows at the same line numbers) and to check it is UTF-8, then
``InputSource.rows`` streams the rows. Duplicates are refused by whoever keeps the rows: the journal on disk, or
``read_input`` in memory (the dry run, which shows every request anyway).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO

from .. import ItemProblem
from ._operations import Operation

__all__ = ["FIELDS", "InputError", "InputFile", "InputSource", "Row", "duplicate_of", "open_input", "read_input"]

#: Every field a backfill row may carry, in report order.
FIELDS = ("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name")
_CHUNK = 1 << 20
#: Rows the library checks at once (it also refuses a repeat within them; the journal refuses the others).
_CHECKED_TOGETHER = 1_000


class InputError(ValueError):
    """The file as a whole is unusable (missing, unreadable, a CSV header without the needed columns)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """One input row: its line number, the item fields it gave, and why it is refused (None: it is good)."""

    line: int
    fields: dict[str, str]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclasses.dataclass(frozen=True, slots=True)
class InputSource:
    """An input file's identity, and its rows read on demand (never all at once)."""

    path: Path
    size: int
    sha256: str
    jsonl: bool
    operation: Operation

    def rows(self, after_line: int = 0) -> Generator[Row]:
        """Every row past ``after_line``, validated but not checked for duplicates, in file order.

        Raises:
            InputError: the file cannot be read (any more), or its CSV header lacks a required column.
        """
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as text:
                raw = _jsonl_rows(text) if self.jsonl else _csv_rows(text, self.operation, self.path)
                for row in _checked(raw, self.operation):
                    if row.line > after_line:
                        yield row
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror or exc}") from None


@dataclasses.dataclass(frozen=True, slots=True)
class InputFile:
    """A parsed input file in memory, duplicates refused: what the dry run plans from (and small tests use)."""

    path: Path
    size: int
    sha256: str
    all_rows: list[Row]

    def rows(self, after_line: int = 0) -> Iterator[Row]:
        return (row for row in self.all_rows if row.line > after_line)

    @property
    def good(self) -> list[Row]:
        return [row for row in self.all_rows if row.ok]

    @property
    def bad(self) -> list[Row]:
        return [row for row in self.all_rows if not row.ok]


def item_key(operation: str, fields: Mapping[str, str]) -> str:
    """What makes two rows the same piece of work: the operation on one contact's email."""
    return f"{operation}:{fields['contact_id']}:{fields['message_id']}"


def duplicate_of(row: Row, earlier: int) -> Row:
    """``row`` refused as a repeat of line ``earlier``: the same email twice is never sent twice."""
    return Row(row.line, row.fields, f"line {row.line}: duplicates line {earlier} (same contact_id and message_id)")


def open_input(path: Path, operation: Operation) -> InputSource:
    """Read the file once, in chunks, for its size and sha256, checking it is UTF-8 and its CSV header is usable.

    Raises:
        InputError: the file cannot be read, is not UTF-8, or its CSV header lacks a required column.
    """
    digest, decoder, size = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")(), 0
    head = b""
    try:
        with path.open("rb") as data:
            while chunk := data.read(_CHUNK):
                if not head:
                    head = chunk[:4096]
                digest.update(chunk)
                _decode(decoder, chunk, size, path)
                size += len(chunk)
            _decode(decoder, b"", size, path, final=True)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    jsonl = _is_jsonl(path, head.decode("utf-8-sig", errors="replace"))
    source = InputSource(path=path, size=size, sha256=digest.hexdigest(), jsonl=jsonl, operation=operation)
    if not jsonl:
        rows = source.rows()
        next(rows, None)  # the header is checked as the first row is read
        rows.close()
    return source


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, path: Path, final: bool = False) -> None:
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {offset + exc.start})") from None


def read_input(path: Path, operation: Operation) -> InputFile:
    """Read and validate every row into memory; duplicates of an earlier row are refused, never sent twice.

    Raises:
        InputError: the file cannot be read, or its CSV header lacks a required column.
    """
    source = open_input(path, operation)
    return InputFile(path=path, size=source.size, sha256=source.sha256, all_rows=list(_unique(source.rows())))


def _unique(rows: Iterable[Row]) -> Iterator[Row]:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.ok:
            key = (row.fields["contact_id"], row.fields["message_id"])
            if key in seen:
                row = duplicate_of(row, seen[key])
            else:
                seen[key] = row.line
        yield row


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _csv_rows(text: IO[str], operation: Operation, path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(text)
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in operation.required if name not in header]
    if missing:
        raise InputError(f"{path}: the CSV header (line 1) lacks {', '.join(missing)}; it has {header}")
    reader.fieldnames = header
    for record in reader:
        extra = record.pop(None, None)
        if extra:
            yield reader.line_num, f"has {len(header) + len(extra)} columns; the header has {len(header)}"
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in record.items() if k in FIELDS}


def _jsonl_rows(text: IO[str]) -> Iterator[tuple[int, dict[str, str] | str]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"is not valid JSON ({exc.msg})"
            continue
        if not isinstance(value, dict):
            yield number, f"is a JSON {type(value).__name__}, expected an object"
            continue
        yield number, {k: _text(v) for k, v in value.items() if k in FIELDS and v is not None}


def _text(value: object) -> str:
    # JSON ids may come as numbers; keep booleans and floats visible so validation refuses them.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else repr(value)


def _checked(raw: Iterator[tuple[int, dict[str, str] | str]], operation: Operation) -> Iterator[Row]:
    """The rows, each refused by its line for the first problem the library finds in its item, checked a thousand
    at a time."""
    while parsed := list(itertools.islice(raw, _CHECKED_TOGETHER)):
        readable = [(line, fields) for line, fields in parsed if not isinstance(fields, str)]
        lines = [line for line, _ in readable]
        problems = operation.problems([fields for _, fields in readable])
        errors = {problem.index: _error(problem, lines) for problem in problems}
        position = 0
        for line, fields in parsed:
            if isinstance(fields, str):
                yield Row(line, {}, f"line {line} {fields}")
                continue
            problem = errors.get(position)
            position += 1
            yield Row(line, fields, None if problem is None else f"line {line}: {problem}")


def _error(problem: ItemProblem, lines: list[int]) -> str:
    """A problem as the row's reader sees it: by line, not by item index."""
    if problem.repeats is not None:
        return f"duplicates line {lines[problem.repeats]} (same contact_id and message_id)"
    return f"{problem.field} {problem.message}"
