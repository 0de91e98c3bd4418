"""``zcrm-async records import MODULE FILE --insert|--update|--upsert [--duplicate-check-fields F,...]``: a CSV of
records into a module, journaled and resumable as ``backfill`` is (``zcrm_async.backfill`` runs it).

The CSV's header names the fields by API name (``Last_Name,Email``; an update's has ``id``). Each row is recorded
in a SQLite journal bound to the file (``FILE.journal.sqlite``); a row is marked in flight and committed before
its request can be sent, and a run killed at any moment (``kill -9`` included) is resumed by running the same
command: rows done are never sent again, rows left in flight are read back first (``_records_op`` says how), and
only those not applied are sent. Progress, the outcome table, the budget and ``--report`` (one JSON line per row,
and the rows that failed beside it as a CSV this command reads) are ``backfill``'s. Empty cells are not sent.

Every check that can fail is made before the journal exists or any request is sent: the file is readable, its
header names fields (and the key: ``id``, or the first duplicate-check field), the outputs can be written.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from .. import AuthenticationError, MissingScopeError, ZohoCRM, backfill
from ..records import system_duplicate_check_field
from ._backfill_end import Printed, show_failed
from ._connect import Connection
from ._exit import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE
from ._failures import RunFailure, UsageError
from ._journal_open import run_journaled
from ._output import Output, counted
from ._records_op import Columns, RecordsImport
from ._stops import EXIT_CODES, stop_message
from ._summary import print_budget, print_outcomes

__all__ = ["IMPORT_TEXT", "RecordsImportOptions", "add_import_arguments", "import_records", "options_from"]

IMPORT_TEXT = "insert, update or upsert a CSV of records, journaled and resumable like backfill"

#: Rows checked by the op at once (each row's own problems; repeats are the journal's to refuse).
_CHECKED_TOGETHER = 1_000
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RecordsImportOptions:
    module: str
    path: Path
    kind: Literal["insert", "update", "upsert"]
    duplicate_check_fields: tuple[str, ...] | None = None
    journal: Path | None = None
    report: Path | None = None
    retry_failed: bool = False
    batch_size: int = 200
    batches_in_flight: int = 4
    unreachable_after: float = backfill.UNREACHABLE_AFTER

    @property
    def journal_path(self) -> Path:
        return self.journal or self.path.with_name(self.path.name + ".journal.sqlite")


@dataclasses.dataclass(frozen=True, slots=True)
class CsvRecords:
    """The CSV file as the journal's ``Source``: its identity, and its rows read on demand (never all at once)."""

    path: Path
    size: int
    sha256: str
    op: RecordsImport

    @property
    def name(self) -> str:
        return str(self.path.resolve())

    def rows(self, after_line: int = 0) -> Iterator[backfill.Row]:
        """Every row past ``after_line`` (numbered by the line it starts on), checked by the op."""
        pending: list[tuple[int, dict[str, str] | str]] = []
        for line, fields in _read(self.path, self.op.columns):
            if line > after_line:
                pending.append((line, fields))
            if len(pending) >= _CHECKED_TOGETHER:
                yield from self._checked(pending)
                pending = []
        yield from self._checked(pending)

    def _checked(self, rows: list[tuple[int, dict[str, str] | str]]) -> Iterator[backfill.Row]:
        good = [(line, fields) for line, fields in rows if isinstance(fields, dict)]
        problems = {problem.index: problem for problem in self.op.problems([fields for _, fields in good])}
        refused = {good[index][0]: f"{problem.field} {problem.message}" for index, problem in problems.items()}
        for line, fields in rows:
            if isinstance(fields, str):
                yield backfill.Row(line, {}, f"line {line} {fields}")
            elif line in refused:
                yield backfill.Row(line, fields, f"line {line}: {refused[line]}")
            else:
                yield backfill.Row(line, fields)


def header_of(path: Path) -> list[str]:
    """The CSV header's names, or ``UsageError`` saying why the file cannot be read."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as data:
            header = next(csv.reader(data), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not header:
        raise UsageError(f"{path} is empty: its first line must name the fields (Last_Name,Email,...)")
    return [name.strip() for name in header]


def _read(path: Path, columns: Columns) -> Iterator[tuple[int, dict[str, str] | str]]:
    """(line, the row's journal fields or why it is refused), past the header."""
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as data:
        reader = csv.reader(data)
        next(reader, None)
        start = reader.line_num + 1
        try:
            for values in reader:
                line, start = start, reader.line_num + 1
                if not values:
                    continue
                if len(values) != len(columns.names):
                    yield line, f"has {len(values)} columns; the header has {len(columns.names)}"
                elif any("\udc80" <= char <= "\udcff" for value in values for char in value):
                    yield line, "is not UTF-8"
                else:
                    pairs = zip(columns.names, values, strict=True)
                    yield line, {columns.column(name): value.strip() for name, value in pairs}
        except csv.Error as exc:
            yield start, f"is not valid CSV ({exc}); the rest of the file is not read"


def _identity(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def import_op(options: RecordsImportOptions) -> RecordsImport:
    """The op of this import, from the file's header, or ``UsageError`` naming what the header lacks."""
    header = header_of(options.path)
    try:
        columns = Columns.of(header)
    except ValueError as exc:
        raise UsageError(f"{options.path}: {exc}") from None
    checks = options.duplicate_check_fields
    key = "id" if options.kind == "update" else (checks or (system_duplicate_check_field(options.module),))[0]
    if key not in columns.names:
        why = "an update names each record by it" if key == "id" else "it finds each record again after a kill"
        raise UsageError(f"{options.path}: the CSV header has no {key} column ({why}); it has {', '.join(header)}")
    return RecordsImport(options.kind, options.module, columns, key, checks if options.kind == "upsert" else None)


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("module", metavar="MODULE", help="the module's API name, e.g. Contacts")
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV whose header names the fields by API name")
    kinds = parser.add_mutually_exclusive_group(required=True)
    kinds.add_argument("--insert", dest="kind", action="store_const", const="insert", help="Insert Records")
    kinds.add_argument("--update", dest="kind", action="store_const", const="update",
                       help="Update Records: each row names its record in an id column")  # fmt: skip
    kinds.add_argument("--upsert", dest="kind", action="store_const", const="upsert", help="Upsert Records")
    parser.add_argument(
        "--duplicate-check-fields", metavar="F,...",
        help="upsert: the fields that find an existing record, in order (default: the module's system field, e.g. "
        "Email); insert and upsert look rows up by the first of them after a kill, so the CSV must have it",
    )  # fmt: skip
    parser.add_argument("--journal", type=Path, help="the SQLite journal (default: FILE.journal.sqlite)")
    parser.add_argument("--report", type=Path, help="write one JSON line per row here (and the failed rows beside)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="send again the rows an earlier run on this journal failed for good")  # fmt: skip
    parser.add_argument(
        "--json", action="store_true", help="print the run's summary as one JSON object on stdout; the rest to stderr"
    )
    parser.add_argument("--batch-size", type=int, default=200, help="rows marked in flight at once (default: 200)")
    parser.add_argument("--batches-in-flight", type=int, default=4, help="batches sent at once (default: 4)")
    parser.add_argument(
        "--unreachable-after", type=float, default=backfill.UNREACHABLE_AFTER, metavar="SECONDS",
        help=f"stop the run (exit {EXIT_UNREACHABLE}; the same command continues) when the API has answered nothing "
        "for this long while requests fail (default: %(default)g)",
    )  # fmt: skip


def options_from(args: argparse.Namespace) -> RecordsImportOptions:
    checks = None
    if args.duplicate_check_fields is not None:
        checks = tuple(name.strip() for name in args.duplicate_check_fields.split(",") if name.strip())
        if not checks:
            raise UsageError("--duplicate-check-fields names no field")
    return RecordsImportOptions(
        module=args.module, path=args.file, kind=args.kind, duplicate_check_fields=checks, journal=args.journal,
        report=args.report, retry_failed=args.retry_failed, batch_size=args.batch_size,
        batches_in_flight=args.batches_in_flight, unreachable_after=args.unreachable_after,
    )  # fmt: skip


async def import_records(options: RecordsImportOptions, connection: Connection, output: Output) -> int:
    """Run (or resume) the import; returns the exit code (``_exit``, as ``backfill``'s).

    Raises:
        UsageError: an unreadable file, a header without its key, a journal of another run (exit code 2).
    """
    if options.batch_size < 1 or options.batches_in_flight < 1:
        raise UsageError("--batch-size and --batches-in-flight must be at least 1")
    try:
        stop = backfill.Stop(unreachable_after=options.unreachable_after)
    except ValueError:
        raise UsageError("--unreachable-after must be between 1 and 86400 seconds") from None
    op = import_op(options)
    size, sha256 = _identity(options.path)
    source = CsvRecords(options.path, size, sha256, op)
    return await run_journaled(
        connection, output, op.layout, lambda crm, journal: _journaled(options, crm, output, journal, source, stop),
        input_path=options.path, journal_path=options.journal_path, report=options.report,
    )


async def _journaled(
    options: RecordsImportOptions, crm: ZohoCRM, output: Output, journal: backfill.Journal, source: CsvRecords,
    stop: backfill.Stop,
) -> int:  # fmt: skip
    started = time.monotonic()
    result = None
    try:
        result = await backfill.run(
            crm, source.op, source, journal=journal, stop=stop, retry_failed=options.retry_failed,
            batch_size=options.batch_size, batches_in_flight=options.batches_in_flight,
            progress=Printed(output, crm, f"records {options.kind}"),
        )  # fmt: skip
    except backfill.InputChanged:
        raise UsageError(f"{options.path} changed since its journal {journal.path} was made: put the file back, or "
                         "import the edited file with a new journal (--journal NEW)") from None  # fmt: skip
    except backfill.JournalMismatch as exc:
        raise UsageError(str(exc)) from None
    except MissingScopeError as exc:
        raise RunFailure(exc.message) from None
    except AuthenticationError as exc:
        output.error(f"Zoho refused the credentials: {exc}; rows in flight are read back on the next run")
    if result is not None and result.unsettled:
        output.error(f"{counted(result.unsettled, 'row')} of an interrupted run could not be read back now; run "
                     "again to settle them")  # fmt: skip
    _, failed = print_outcomes(output, journal)
    show_failed(output, journal, options.report)
    print_budget(output, crm, time.monotonic() - started)
    if options.report is not None:
        written = _write_report(options.report, journal, source.op.columns)
        output.line(f"report: {options.report}")
        if written:
            failed_path = backfill.failed_rows_path(options.report)
            output.line(f"the {counted(written, 'row')} that failed are in {failed_path}: fix them and run zcrm-async "
                        f"records import {options.module} {failed_path} --{options.kind}")  # fmt: skip
    if stop.reason is not None:
        output.error(stop_message(stop, crm, journal.states(), journal.transient_failures()))
        return EXIT_CODES[stop.reason]
    return EXIT_OK if failed == 0 else EXIT_FAILED


def _write_report(path: Path, journal: backfill.Journal, columns: Columns) -> int:
    """One JSON line per row (its fields by API name, its outcome), and the rows that failed as a CSV of the
    header's own names (this command reads it as it is); returns how many failed."""
    failed_path = backfill.failed_rows_path(path)
    failed = 0
    with path.open("w", encoding="utf-8") as report, failed_path.open("w", newline="", encoding="utf-8") as rows:
        writer = csv.writer(rows)
        writer.writerow(columns.names)
        for item in journal.items():
            fields = {name: item.fields.get(columns.column(name), "") for name in columns.names}
            status = item.status or ("in_flight" if item.state == "in_flight" else "pending")
            record = {"line": item.line, **fields, "code": item.code, "status": status, "message": item.message,
                      "attempts": item.attempts}  # fmt: skip
            report.write(json.dumps(record, ensure_ascii=False) + "\n")
            if item.status is not None and item.status != "success":
                writer.writerow([fields[name] for name in columns.names])
                failed += 1
    if not failed:
        failed_path.unlink()
    return failed
