"""``zcrm-async journal failed JOURNAL``: the rows a backfill failed for good, read from its journal alone.

A run writes its failed rows as a CSV only beside ``--report``; the journal keeps every row it read, with its
outcome, whatever the flags were, and whether or not the input is still there or still the same (an edited input
is refused by the next run, whose message points here). The CSV has the same header ``backfill`` reads, so the
rows, once fixed, run on their own: ``zcrm-async backfill OP FAILED.csv``.

Only a journal of ``backfill link|unlink|relink`` is read: a ``records import`` journal keeps its columns by a
lower-cased name, not the header's own, so its failed rows come beside its ``--report``. Nothing is sent and no
credentials are read; the journal is locked while it is read (a run going on would still be changing it).
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from .. import backfill
from ._exit import EXIT_OK
from ._failures import UsageError
from ._files import check_writable
from ._help import examples
from ._journal_open import open_journal
from ._output import Output, counted

__all__ = ["add_journal_commands", "journal_failed"]

FAILED_TEXT = "write the rows a backfill failed for good to a CSV that backfill reads, from its journal"


def add_journal_commands(commands: Any) -> None:
    """``journal failed JOURNAL [--out FILE]`` under ``commands`` (argparse's subparsers)."""
    journal = commands.add_parser("journal", help="read a backfill's journal")
    actions = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    failed = actions.add_parser(
        "failed", help=FAILED_TEXT, epilog=examples("journal failed"),
        description=f"{FAILED_TEXT} (no --report needed; the input may have changed since). Nothing is sent.",
    )  # fmt: skip
    failed.add_argument("journal", type=Path, metavar="JOURNAL", help="the backfill's journal (FILE.journal.sqlite)")
    failed.add_argument(
        "--out", type=Path, help="the CSV to write (default: beside the journal, FILE.journal.failed.csv)"
    )


def journal_failed(args: argparse.Namespace, output: Output) -> int:
    """Write the journal's failed rows to ``--out`` (or beside the journal) and say how to run them.

    Raises:
        UsageError: no journal there, not a backfill's journal, a run holds it, or ``--out`` cannot be written.
    """
    path: Path = args.journal
    out: Path = args.out or backfill.failed_rows_path(path)
    operation = _operation_of(path)
    check_writable(out, "--out")
    if out.resolve() == path.resolve():
        raise UsageError(f"--out {out} is the journal: it would be overwritten; name another file")
    with open_journal(path, backfill.EMAIL_LAYOUT) as journal:
        count = backfill.write_failed_rows(out, journal)
    if count:
        output.result(f"the {counted(count, 'row')} that failed are in {out}: fix them and run zcrm-async backfill "
                    f"{operation} {out}")  # fmt: skip
    else:
        output.result(f"no row of {path} failed: nothing written")
    return EXIT_OK


def _operation_of(path: Path) -> str:
    """The backfill the journal was made by (link, unlink, relink), read without writing to the file."""
    if not path.is_file():
        raise UsageError(f"no journal at {path}")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'operation'").fetchone()
    except sqlite3.Error:
        row = None
    if row is None:
        raise UsageError(f"{path} is not a backfill's journal (made by zcrm-async backfill link, unlink or relink)")
    operation = str(row[0])
    if operation.startswith("records."):
        raise UsageError(
            f"{path} is a records import's journal: its failed rows are written beside its --report "
            "(run the same import again with --report FILE: nothing is sent again)"
        )
    return operation
