"""Reading a backfill file (CSV with a header, or JSONL) into rows, each valid or refused with its line number.

The file is read twice, a chunk at a time, never whole: once for its identity (size and sha256, which the journal
is bound to, so a resumed run provably reads the same rows at the same line numbers), once for its rows
(`_rows` says how each line is bounded and read).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from .. import ItemProblem
from ._operations import Operation
from ._rows import FIELDS, InputError, Parsed, csv_rows, jsonl_rows

__all__ = ["FIELDS", "InputError", "InputFile", "Row", "read_input"]

_CHUNK = 1 << 20


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
class InputFile:
    """A parsed input file and its identity."""

    path: Path
    size: int
    sha256: str
    rows: list[Row]

    @property
    def good(self) -> list[Row]:
        return [row for row in self.rows if row.ok]

    @property
    def bad(self) -> list[Row]:
        return [row for row in self.rows if not row.ok]


def item_key(operation: str, fields: Mapping[str, str]) -> str:
    """What makes two rows the same piece of work: the operation on one contact's email."""
    return f"{operation}:{fields['contact_id']}:{fields['message_id']}"


def read_input(path: Path, operation: Operation) -> InputFile:
    """Read every row and have the library check it; duplicates of an earlier row are refused, never sent twice.

    Raises:
        InputError: the file cannot be read, or its CSV header lacks a required column.
    """
    try:
        size, sha256, head = _identity(path)
        with path.open("rb") as data:
            jsonl = _is_jsonl(path, head.decode("utf-8-sig", errors="replace"))
            rows = _validated(jsonl_rows(data) if jsonl else csv_rows(data, operation.required, path), operation)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return InputFile(path=path, size=size, sha256=sha256, rows=rows)


def _identity(path: Path) -> tuple[int, str, bytes]:
    """The file's size, its sha256, and its first bytes (what it holds: CSV or JSON lines)."""
    digest, size, head = hashlib.sha256(), 0, b""
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            head = head or chunk[:4096]
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), head


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _validated(raw: Iterator[tuple[int, Parsed]], operation: Operation) -> list[Row]:
    """The rows, each refused by its line for the first problem the library finds in its item."""
    parsed = list(raw)
    readable = [(line, fields) for line, fields in parsed if not isinstance(fields, str)]
    lines = [line for line, _ in readable]
    problems = operation.problems([fields for _, fields in readable])
    errors = {problem.index: _error(problem, lines) for problem in problems}
    rows: list[Row] = []
    position = 0
    for line, fields in parsed:
        if isinstance(fields, str):
            rows.append(Row(line, {}, f"line {line} {fields}"))
            continue
        problem = errors.get(position)
        position += 1
        rows.append(Row(line, fields, None if problem is None else f"line {line}: {problem}"))
    return rows


def _error(problem: ItemProblem, lines: list[int]) -> str:
    """A problem as the row's reader sees it: by line, not by item index."""
    if problem.repeats is not None:
        return f"duplicates line {lines[problem.repeats]} (same contact_id and message_id)"
    return f"{problem.field} {problem.message}"
