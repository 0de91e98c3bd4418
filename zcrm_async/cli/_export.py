"""``zcrm-async emails export``: every email of many records to JSONL, one ``{"record_id", "email"}`` per line."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

import msgspec

from .. import APIError, EmailSummary, MissingScopeError, ZohoCRM
from ..validation import InvalidItemError, check_numeric_id
from ._connect import Connection
from ._failures import UsageError
from ._files import check_writable
from ._output import Output, counted
from ._progress import Tracker, track

__all__ = ["ExportLine", "ExportOptions", "RefusedRecords", "export", "read_ids"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    module: str
    ids: Path | None
    out: Path
    concurrency: int = 8


class ExportLine(msgspec.Struct, kw_only=True, frozen=True):
    """One line of the export: the record the email was listed under, and the email as Zoho sent it."""

    record_id: str
    email: EmailSummary


_encode = msgspec.json.Encoder().encode


class RefusedRecords:
    """Records Zoho refused to list (a deleted id: INVALID_DATA), each skipped and named at the end."""

    __slots__ = ("refused", "tracker")

    def __init__(self) -> None:
        self.refused: list[tuple[str, str]] = []
        self.tracker: Tracker | None = None

    def __call__(self, record_id: str, exc: APIError) -> None:
        self.refused.append((record_id, str(exc)))
        if self.tracker is not None:
            self.tracker.advance(0, failed=1)

    def show(self, output: Output, noun: str) -> None:
        """The first refused records, one line each, and how many in all (a partial failure names them)."""
        if not self.refused:
            return
        count = len(self.refused)
        output.error(f"{counted(count, noun)} could not be read and {'was' if count == 1 else 'were'} skipped:")
        for record_id, why in self.refused[:SHOWN_REFUSED]:
            output.error(f"  {record_id}: {why}")
        if count > SHOWN_REFUSED:
            output.error(f"  ... and {count - SHOWN_REFUSED} more")


SHOWN_REFUSED = 20


async def export(options: ExportOptions, connection: Connection, output: Output) -> int:
    """Write every email of the records to ``options.out``; returns the exit code (1 when a record was refused:
    its emails are missing from the file, the others are there)."""
    if options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    ids = read_ids(options.ids) if options.ids is not None else None
    check_writable(options.out, "--out")  # before any request: the export is not lost at the end
    async with connection.open() as crm:
        await check_module(crm, options.module)
        if ids is None:
            ids = await module_ids(crm, options.module)
            output.line(f"{len(ids):,} {options.module} records")
        refused = RefusedRecords()
        count = await _write(crm, options, ids, output, refused)
    read = len(ids) - len(refused.refused)
    output.result(f"exported {counted(count, 'email')} of {counted(read, 'record')} to {options.out}")
    refused.show(output, "record")
    return 0 if not refused.refused else 1


def read_ids(path: Path) -> list[str]:
    """Record ids, one per line; blank lines skipped, duplicates dropped (each record is read once)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    ids: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                ids[check_numeric_id(line.strip(), "record id")] = None
            except InvalidItemError as exc:
                raise UsageError(f"{path} line {number}: {exc}") from None
    return list(ids)


async def check_module(crm: ZohoCRM, module: str) -> None:
    """The org has this module (one Get Modules call); without the scope to list modules, the reads will tell.

    Raises:
        UsageError: the org has no module of that API name (with the nearest names).
    """
    try:
        names = await crm.modules.api_names()
    except MissingScopeError:
        return
    if module in names:
        return
    near = difflib.get_close_matches(module, names, n=3) or names[:6]
    hint = f"did you mean {' or '.join(repr(name) for name in near)}?" if near else "the org lists none"
    raise UsageError(f"unknown module {module!r} (--module takes a module's API name); {hint}")


async def module_ids(crm: ZohoCRM, module: str) -> list[str]:
    """Every record id of the module (Get Records needs a field; ``id`` always comes along)."""
    return [str(record["id"]) async for record in crm.records.iterate(module, fields=["id"])]


async def _write(crm: ZohoCRM, options: ExportOptions, ids: list[str], output: Output, refused: RefusedRecords) -> int:
    def snapshot() -> dict[str, float]:
        return {"requests": crm.counters.requests, "429s": crm.counters.throttled}

    count = 0
    with options.out.open("wb") as out:
        async with (
            track(output, "emails", None, snapshot) as tracker,
            crm.emails.iterate_many(options.module, ids, concurrency=options.concurrency, on_refused=refused) as stream,
        ):
            refused.tracker = tracker
            async for record_id, email in stream:
                out.write(_encode(ExportLine(record_id=record_id, email=email)) + b"\n")
                count += 1
                tracker.advance(1)
    return count
