"""What every journaled command (``backfill``, ``records import``) does around its run: its outputs checked
before the journal exists, the client connected, the journal opened and the run made inside it; each refusal one
``UsageError``, a journal failing midway one exit code (``EXIT_JOURNAL``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from .. import ZohoCRM, backfill
from ._connect import Connection
from ._exit import EXIT_JOURNAL
from ._failures import UsageError
from ._files import check_writable
from ._output import Output
from ._summary import json_summary

__all__ = ["Command", "check_outputs", "open_journal", "run_journaled"]


def check_outputs(input_path: Path, report: Path | None, journal: Path) -> None:
    """Every output writable (the report, the failed rows beside it, the journal and its folder) and none of them
    the input or the journal: checked before the journal exists, so a refusal leaves no file behind.

    Raises:
        UsageError: an output that could not be written, or that would overwrite the input or the journal.
    """
    if report is not None:
        check_writable(report, "--report")
        check_writable(backfill.failed_rows_path(report), "--report")  # the failed rows go beside it
    check_writable(journal, "--journal", folder_too=True)
    for flag, path in (("--report", report), ("--journal", journal)):
        others = [("the input file", input_path)] + [("the journal", journal)] * (flag == "--report")
        for what, other in others:
            if path is not None and _same_file(path, other):
                raise UsageError(f"{flag} {path} is {what}: it would be overwritten; name another file")


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:  # one of them does not exist yet: the same path, once resolved, is still the same file
        return one.resolve() == other.resolve()


def open_journal(path: Path, layout: backfill.Layout) -> backfill.Journal:
    """The journal at ``path`` for rows of ``layout`` (made when there is none).

    Raises:
        UsageError: another run holds it, it belongs to another run or version, or it is not a journal.
    """
    try:
        return backfill.Journal(path, layout)
    except (backfill.JournalBusy, backfill.JournalMismatch) as exc:
        raise UsageError(str(exc)) from None
    except (OSError, sqlite3.DatabaseError) as exc:
        raise UsageError(f"cannot use {path} as a journal: {exc}") from None


#: A journaled command's run, given the client and the open journal; returns the exit code.
Command = Callable[[ZohoCRM, backfill.Journal], Awaitable[int]]


async def run_journaled(
    connection: Connection, output: Output, layout: backfill.Layout, command: Command, *, input_path: Path,
    journal_path: Path, report: Path | None,
) -> int:  # fmt: skip
    """Check the outputs, connect, open the journal and run ``command`` in it; returns its exit code, or
    ``EXIT_JOURNAL`` when the journal failed midway (said in one line).

    The credentials (at most one refresh) and the API server are checked before the journal is created, so a
    wrong secret or an unreachable server leaves no journal and marks no row in flight.

    Raises:
        UsageError: an output that could not be written, or a journal that cannot be this run's.
    """
    connection.check()  # before the journal exists: missing credentials should leave no file behind
    check_outputs(input_path, report, journal_path)
    async with connection.open() as crm:
        journal = open_journal(journal_path, layout)
        code = await _in_journal(journal, lambda: command(crm, journal), output, report=report)
    if code != EXIT_JOURNAL:
        output.line(f"journal: {journal_path}")
    return code


async def _in_journal(
    journal: backfill.Journal, command: Callable[[], Awaitable[int]], output: Output, *, report: Path | None
) -> int:
    try:
        with journal:
            code = await command()
            output.summary(json_summary(journal, code, report=report))
    except sqlite3.Error as exc:
        # A corrupt page, a full disk, a file made read-only: each transaction either committed or did not, so
        # nothing is marked done that was not; what was in flight is read back once the journal works again.
        output.error(
            f"zcrm-async: error: the journal {journal.path} failed ({exc}); nothing was lost: outcomes recorded "
            "before stay, rows in flight are read back by the next run. Free disk space or fix the file, then "
            "run the same command again (or --journal NEW to start over)"
        )
        return EXIT_JOURNAL
    return code
