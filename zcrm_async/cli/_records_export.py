"""``zcrm-async records export MODULE --fields F,... [--where COND ...] --out FILE``: a module's records to CSV or
JSONL, in constant memory.

Which read: with ``--where`` COQL (Get Records cannot filter); without, Record Count first (one call), then Get
Records for at most 200 records (one call, one credit, the same as COQL), COQL up to 100,000 (3 credits per 2,000
rows where Get Records spends 10), and Bulk Read past them (a job of 200,000 records costs 50 credits where
COQL spends 300, at the price of waiting for each job). ``--by coql|records|bulk`` chooses instead; ``--where``
goes with COQL only (the others would ignore it, so it is refused before any request), and ``--by records`` counts
first too (Get Records reaches 100,000 records: a module past them is refused before any page is read). The run
says which and why before it reads. Bulk Read rows are its CSV's text (an empty cell for no value).

``--where`` takes ``FIELD OP VALUE`` (OP one of ``= != < > <= >= like``, or ``FIELD is null`` / ``is not null``);
several are ANDed. The value is text unless written as a number (``Amount > 100``); quote it (``'100'``) to
compare text. It goes into the query through ``zcrm_async.coql``, quoted: nothing typed is pasted into COQL.

The file is written beside its name and renamed when complete, so a run stopped midway leaves no partial
export under that name. CSV: a header of ``id`` and the fields; a lookup (``{"name", "id"}``) or a list is
written as its JSON.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import msgspec

from .. import ZohoCRM
from ..coql import Condition, Query, field
from ._connect import Connection
from ._failures import UsageError
from ._files import check_writable
from ._output import Output
from ._progress import track

__all__ = ["RecordsExportOptions", "export_records", "format_of", "parse_where"]

SMALL = 200  # one Get Records page: as cheap as one COQL call, so Get Records reads it
GET_RECORDS_REACH = 100_000  # the most records a page_token chain of Get Records reaches
LARGE = 100_000  # COQL's offset reach: past it, Bulk Read's 50 credits a job beat COQL's 3 a page
_WHERE = re.compile(r"\s*(?P<field>[A-Za-z][\w.]*)\s+(?P<rest>.+?)\s*\Z", re.DOTALL)
_OPERATOR = re.compile(r"(?P<op><=|>=|!=|=|<|>|like\b|not like\b)\s*(?P<value>.*)\Z", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecordsExportOptions:
    module: str
    fields: tuple[str, ...]
    where: tuple[str, ...]
    out: Path
    format: Literal["csv", "jsonl"]
    by: Literal["auto", "coql", "records", "bulk"] = "auto"


def parse_where(text: str) -> Condition:
    """One ``--where``: ``FIELD OP VALUE``, ``FIELD is null`` or ``FIELD is not null``, as a quoted Condition."""
    match = _WHERE.match(text)
    if match is None:
        raise UsageError(f"--where {text!r}: expected FIELD OP VALUE, e.g. \"Stage != Closed Lost\"")
    rest = match["rest"]
    try:
        subject = field(match["field"])
        if rest.lower() == "is null":
            return subject.is_null()
        if rest.lower() == "is not null":
            return subject.is_not_null()
        operator = _OPERATOR.match(rest)
        if operator is None or not operator["value"]:
            raise UsageError(f"--where {text!r}: expected an operator (= != < > <= >= like) and a value")
        return _condition(subject.name, operator["op"].lower(), operator["value"])
    except ValueError as exc:
        raise UsageError(f"--where {text!r}: {exc}") from None


def _condition(name: str, op: str, raw: str) -> Condition:
    value: str | int | float = raw
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        value = raw[1:-1]
    elif _NUMBER.match(raw):
        value = float(raw) if "." in raw else int(raw)
    subject = field(name)
    methods = {"=": subject.eq, "!=": subject.ne, "<": subject.lt, ">": subject.gt, "<=": subject.le,
               ">=": subject.ge}  # fmt: skip
    if op in ("like", "not like"):
        return subject.like(str(value)) if op == "like" else subject.not_like(str(value))
    return methods[op](value)


async def export_records(options: RecordsExportOptions, connection: Connection, output: Output) -> int:
    """Write the module's records to ``options.out``; returns the exit code."""
    where = _where(options.where)
    try:
        query = Query(options.module, list(options.fields), where=where)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if options.where and options.by in ("bulk", "records"):  # neither takes COQL's filter: refuse, never ignore it
        raise UsageError(f"--where filters by COQL; --by {options.by} cannot take it")
    check_writable(options.out, "--out")  # before any request: the export is not lost at the end
    async with connection.open() as crm:
        by = await _choose(crm, options, output)
        count = await _write(crm, options, _rows(crm, query, by), output)
    spent = f"{crm.counters.requests} requests, {crm.counters.credits_spent:g} credits"
    output.result(f"exported {count} {options.module} records to {options.out} by {_NAMES[by]} ({spent})")
    return 0


_NAMES = {"coql": "COQL", "records": "Get Records", "bulk": "Bulk Read"}
ReadPath = Literal["coql", "records", "bulk"]


def _where(texts: Sequence[str]) -> Condition | None:
    condition: Condition | None = None
    for text in texts:
        part = parse_where(text)
        try:
            condition = part if condition is None else condition & part
        except ValueError as exc:
            raise UsageError(f"--where: {exc}") from None
    return condition


async def _choose(crm: ZohoCRM, options: RecordsExportOptions, output: Output) -> ReadPath:
    if options.by == "records":  # Get Records stops at its reach: say so before reading, not after 500 pages
        total = await crm.records.count(options.module)
        if total > GET_RECORDS_REACH:
            raise UsageError(f"{options.module} has {total} records; Get Records reaches {GET_RECORDS_REACH:,} "
                             "(Zoho's page_token limit): use --by coql or --by bulk")  # fmt: skip
    if options.by != "auto":
        output.line(f"reading {options.module} by {_NAMES[options.by]} (--by {options.by})")
        return options.by
    if options.where:
        output.line(f"reading {options.module} by COQL (--where filters; Get Records cannot)")
        return "coql"
    total = await crm.records.count(options.module)
    if total <= SMALL:
        output.line(f"{total} {options.module} records: reading them by Get Records (one page)")
        return "records"
    if total <= LARGE:
        output.line(f"{total} {options.module} records: reading them by COQL (2,000 a call, 3 credits each)")
        return "coql"
    output.line(f"{total} {options.module} records: reading them by Bulk Read (200,000 a job, 50 credits each)")
    return "bulk"


def _rows(crm: ZohoCRM, query: Query, by: ReadPath) -> AsyncIterator[dict[str, Any]]:
    if by == "coql":
        return crm.records.coql(query)
    if by == "bulk":
        return crm.bulk.read.export(query.module, fields=list(query.fields))
    return crm.records.iterate(query.module, fields=list(query.fields))


async def _write(
    crm: ZohoCRM, options: RecordsExportOptions, rows: AsyncIterator[dict[str, Any]], output: Output
) -> int:
    def snapshot() -> dict[str, float]:
        return {"requests": crm.counters.requests, "credits": crm.counters.credits_spent}

    columns = ["id", *(name for name in options.fields if name != "id")]
    partial = options.out.with_name(options.out.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            write = _writer(out, options.format, columns)
            async with track(output, "records", None, snapshot) as tracker:
                async for row in rows:
                    write(row)
                    count += 1
                    tracker.advance(1)
        os.replace(partial, options.out)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _writer(out: IO[str], kind: str, columns: list[str]) -> Any:
    if kind == "jsonl":
        encode = msgspec.json.Encoder().encode

        def write_line(row: dict[str, Any]) -> None:
            out.write(encode({name: row.get(name) for name in columns}).decode())
            out.write("\n")

        return write_line
    writer = csv.writer(out)
    writer.writerow(columns)

    def write_row(row: dict[str, Any]) -> None:
        writer.writerow([_cell(row.get(name)) for name in columns])

    return write_row


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_of(path: Path, given: str | None) -> Literal["csv", "jsonl"]:
    """``--format``, else the file's suffix (``.csv``, ``.jsonl``/``.ndjson``)."""
    kind = (given or path.suffix.lstrip(".")).lower()
    if kind in ("jsonl", "ndjson"):
        return "jsonl"
    if kind == "csv":
        return "csv"
    raise UsageError(f"--out {path}: say --format csv or jsonl (the name ends in neither)")

