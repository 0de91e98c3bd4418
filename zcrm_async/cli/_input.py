"""Reading a backfill file (CSV with a header, or JSONL) into rows, each valid or refused with its line number.

Nothing here holds the whole file: ``open_input`` streams it once for its identity (size and sha256, the journal is
bound to it, so a resumed run provably reads the same rows at the same line numbers), then ``InputSource.rows``
streams the rows (``_rows`` says how each line is bounded and read). Duplicates are refused by whoever keeps the
rows: the journal on disk, or ``read_input`` in memory (the dry run, which shows every request anyway).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path

from .. import ItemProblem
from .._builders import builder
from ..backfill import Row
from ._operations import Operation
from ._rows import FIELDS, InputError, Parsed, csv_rows, jsonl_rows

__all__ = ["FIELDS", "InputError", "InputFile", "InputSource", "Row", "duplicate_of", "open_input", "read_input"]

_CHUNK = 1 << 20
#: Rows the library checks at once (it also refuses a repeat within them; the journal refuses the others).
_CHECKED_TOGETHER = 1_000


@dataclasses.dataclass(frozen=True, slots=True)
class InputSource:
    """An input file's identity, and its rows read on demand (never all at once)."""

    path: Path
    size: int
    sha256: str
    jsonl: bool
    operation: Operation

    @property
    def name(self) -> str:
        """What the journal records of the input: its absolute path."""
        return str(self.path.resolve())

    def rows(self, after_line: int = 0) -> Generator[Row]:
        """Every row past ``after_line``, validated but not checked for duplicates, in file order.

        Raises:
            InputError: the file cannot be read (any more), or its CSV header lacks a required column.
        """
        try:
            with self.path.open("rb") as data:
                raw = jsonl_rows(data) if self.jsonl else csv_rows(data, self.operation.required, self.path)
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

    @property
    def name(self) -> str:
        return str(self.path.resolve())

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
    """Read the file once, in chunks, for its size and sha256, and check its CSV header is usable.

    Raises:
        InputError: the file cannot be read, is empty or a JSON array, or its CSV header lacks a required column
            or has no row under it.
    """
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with path.open("rb") as data:
            while chunk := data.read(_CHUNK):
                head = head or chunk[:4096]
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if not text and size <= len(head):
        raise InputError(f"{path} is empty: give a CSV with a header row, or JSONL (one object per line)")
    jsonl = _is_jsonl(path, text)
    if jsonl and text.startswith("["):
        raise InputError(f"{path} is a JSON array: give JSONL, one JSON object per line (no enclosing [ ])")
    source = InputSource(path=path, size=size, sha256=digest.hexdigest(), jsonl=jsonl, operation=operation)
    if not jsonl and not _has_a_row(source):
        raise InputError(f"{path} has a header but no rows")
    return source


def _has_a_row(source: InputSource) -> bool:
    """Whether a CSV file's header names the columns (``InputError`` if not) and a row follows it. The first row
    is only parsed: checking it would take the library's check of the first thousand."""
    try:
        with source.path.open("rb") as data:
            raw = csv_rows(data, source.operation.required, source.path)
            try:
                return next(raw, None) is not None
            finally:
                raw.close()
    except OSError as exc:
        raise InputError(f"cannot read {source.path}: {exc.strerror or exc}") from None


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


#: ``Row(...)`` of every field in order, at half the cost: one a row read.
_row = builder(Row)


def _checked(raw: Iterator[tuple[int, Parsed]], operation: Operation) -> Iterator[Row]:
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
            yield _row(line, fields, None if problem is None else f"line {line}: {problem}")


def _error(problem: ItemProblem, lines: list[int]) -> str:
    """A problem as the row's reader sees it: by line, not by item index."""
    if problem.repeats is not None:
        return f"duplicates line {lines[problem.repeats]} (same contact_id and message_id)"
    return f"{problem.field} {problem.message}"
