"""Reading a backfill file (CSV with a header, or JSONL) into rows, each valid or refused with its line number.

The whole file is read once: its bytes give the identity (size and sha256) the journal is bound to, so a resumed
run provably reads the same rows at the same line numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from .. import ItemProblem
from ._operations import Operation

__all__ = ["FIELDS", "InputError", "InputFile", "Row", "read_input"]

#: Every field a backfill row may carry, in report order.
FIELDS = ("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name")


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
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    raw = _jsonl_rows(text) if _is_jsonl(path, text) else _csv_rows(text, operation, path)
    rows = _validated(raw, operation)
    return InputFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), rows=rows)


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _csv_rows(text: str, operation: Operation, path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
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


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
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


def _validated(raw: Iterator[tuple[int, dict[str, str] | str]], operation: Operation) -> list[Row]:
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
