"""Resumable, journaled backfills from your own code: what ``zcrm-async backfill`` runs, as a library.

A backfill sends many rows through one op (link, unlink, relink, or one of your own) and records every row in a
SQLite journal from the moment it is read to its outcome, so a process killed at any moment resumes with every
row sent exactly once: a row is marked in flight and committed before its request can go out, and a resumed run
reads rows left in flight back before deciding to send them again. ::

    from zcrm_async import backfill

    source = backfill.rows_source(backfill.LINK, rows, name="crm-migration-7")
    result = await backfill.run(crm, backfill.LINK, source, journal=Path("links.journal.sqlite"))
    if result.stopped is backfill.StopReason.CREDITS:
        ...  # the day's credits are spent: call run again tomorrow, it continues where this one stopped

``run`` stops early and cleanly through one ``Stop`` (credits spent, Redis failed, the API unreachable, or your
own ``stop.request()``), whose ``reason`` says which. A new kind of backfill is a ``BackfillOp``: a ``Layout``
(the row's fields, its key, an optional note committed before a step a kill must be able to undo), ``send`` and
``settle`` (reading back rows in flight).
"""

from ._email_ops import LINK, RELINK, UNLINK, EmailBackfill
from ._journal import INVALID_ROW, InputChanged, Journal, JournalBusy, JournalItem, JournalMismatch, Outcome
from ._layout import EMAIL_LAYOUT, Layout, Row, Source
from ._memory import RowsSource, rows_source
from ._op import Answered, BackfillOp, Remember, Settlement
from ._reach import UNREACHABLE_AFTER
from ._report import Report, failed_rows_path, write_failed_rows, write_report
from ._run import Progress, RunResult, Tally, run
from ._stop import Stop, StopReason

__all__ = [
    "EMAIL_LAYOUT",
    "INVALID_ROW",
    "LINK",
    "RELINK",
    "UNLINK",
    "UNREACHABLE_AFTER",
    "Answered",
    "BackfillOp",
    "EmailBackfill",
    "InputChanged",
    "Journal",
    "JournalBusy",
    "JournalItem",
    "JournalMismatch",
    "Layout",
    "Outcome",
    "Progress",
    "Remember",
    "Report",
    "Row",
    "RowsSource",
    "RunResult",
    "Settlement",
    "Source",
    "Stop",
    "StopReason",
    "Tally",
    "failed_rows_path",
    "rows_source",
    "run",
    "write_failed_rows",
    "write_report",
]
