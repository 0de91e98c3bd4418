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
from typing import Literal

from .._validate import InvalidItemError, check_message_id, check_numeric_id
from ..emails import DealLink, DealUnlink

__all__ = ["FIELDS", "InputError", "InputFile", "Operation", "Row", "read_input", "to_item"]

Operation = Literal["link", "unlink", "relink"]

#: Every field a backfill row may carry, in report order.
FIELDS = ("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name")
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "link": ("contact_id", "message_id", "deal_id", "owner_id"),
    "relink": ("contact_id", "message_id", "deal_id", "owner_id"),
    "unlink": ("contact_id", "message_id", "owner_id"),
}
_IDS = ("contact_id", "deal_id", "owner_id")


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
    """Read and validate every row; duplicates of an earlier row are refused, never sent twice.

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
    rows = list(_validated(raw, operation))
    return InputFile(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), rows=rows)


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _csv_rows(text: str, operation: str, path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in _REQUIRED[operation] if name not in header]
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


def _validated(raw: Iterator[tuple[int, dict[str, str] | str]], operation: str) -> Iterator[Row]:
    seen: dict[str, int] = {}
    for line, parsed in raw:
        if isinstance(parsed, str):
            yield Row(line, {}, f"line {line} {parsed}")
            continue
        problem = _problem(parsed, operation)
        if problem is None:
            key = item_key(operation, parsed)
            if key in seen:
                problem = f"duplicates line {seen[key]} (same contact_id and message_id)"
            else:
                seen[key] = line
        yield Row(line, parsed, None if problem is None else f"line {line}: {problem}")


def _problem(fields: Mapping[str, str], operation: str) -> str | None:
    try:
        for name in _REQUIRED[operation]:
            if name == "message_id":
                check_message_id(fields.get(name), name)
            else:
                check_numeric_id(fields.get(name), name)
        for name in _IDS:  # an optional id that is given must still be an id
            if fields.get(name):
                check_numeric_id(fields[name], name)
    except InvalidItemError as exc:
        return str(exc)
    return None


def to_item(operation: str, fields: Mapping[str, str]) -> DealLink | DealUnlink:
    """The library's item for a validated row."""
    if operation == "unlink":
        return DealUnlink(contact_id=fields["contact_id"], message_id=fields["message_id"], owner_id=fields["owner_id"])
    return DealLink(
        contact_id=fields["contact_id"],
        message_id=fields["message_id"],
        deal_id=fields["deal_id"],
        owner_id=fields["owner_id"],
        deal_name=fields.get("deal_name") or None,
        owner_name=fields.get("owner_name") or None,
    )
