"""``zcrm-async backfill link|unlink|relink FILE``: the library's journaled backfill (``zcrm_async.backfill``), with
the file checked, the journal named, the run printed and its end turned into an exit code.

Every check that can fail is made before the journal exists or any request is sent: the input is readable, the
credentials are there, every output can be written, no output is the input or the journal.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from .. import AuthenticationError, MissingScopeError, ZohoCRM, backfill
from ._backfill_end import Printed, explain_not_allowed, failed_rows_written, show_failed
from ._connect import Connection
from ._dry_run import dry_run
from ._exit import EXIT_FAILED, EXIT_OK
from ._failures import RunFailure, UsageError
from ._input import InputError, InputSource, open_input
from ._journal_open import run_journaled
from ._operations import Operation
from ._output import Output, counted
from ._stops import EXIT_CODES, stop_message
from ._summary import print_budget, print_outcomes

__all__ = ["BackfillOptions", "backfill_command", "default_journal"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackfillOptions:
    operation: Operation
    path: Path
    journal: Path | None = None
    report: Path | None = None
    dry_run: bool = False
    #: Send again the rows an earlier run failed for good (a refusal by Zoho; bad rows stay refused).
    retry_failed: bool = False
    batch_size: int = 200
    batches_in_flight: int = 4
    #: Sent as linked_record.module.id when given (None: the library looks it up; see README).
    deals_module_id: str | None = None
    #: The pace to compare against (the demo knows its server: cap / latency).
    ideal_rps: float | None = None
    #: Seconds without an answer, while requests fail, before the run stops (--unreachable-after).
    unreachable_after: float = backfill.UNREACHABLE_AFTER

    @property
    def journal_path(self) -> Path:
        return self.journal or default_journal(self.path)


def default_journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal.sqlite")


async def backfill_command(options: BackfillOptions, connection: Connection, output: Output) -> int:
    """Run (or resume) a backfill; returns the exit code (``_exit``: 0 all succeeded, 1 some did not, a stop's
    code when a ``StopReason`` ended it, ``EXIT_JOURNAL`` when the journal failed after it was opened).

    Raises:
        UsageError: an unreadable file, a journal of another run, missing credentials (exit code 2).
    """
    if options.batch_size < 1 or options.batches_in_flight < 1:
        raise UsageError("--batch-size and --batches-in-flight must be at least 1")
    try:
        stop = backfill.Stop(unreachable_after=options.unreachable_after)
    except ValueError:
        raise UsageError("--unreachable-after must be between 1 and 86400 seconds") from None
    if options.dry_run:
        return dry_run(
            output, options.operation, options.path, options.journal_path, options.deals_module_id,
            retry_failed=options.retry_failed,
        )  # fmt: skip
    try:
        source = open_input(options.path, options.operation)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    return await run_journaled(
        connection, output, backfill.EMAIL_LAYOUT, lambda crm, journal: _journaled(options, crm, output, journal,
        source, stop), input_path=options.path, journal_path=options.journal_path, report=options.report,
    )  # fmt: skip


async def _journaled(
    options: BackfillOptions, crm: ZohoCRM, output: Output, journal: backfill.Journal, source: InputSource,
    stop: backfill.Stop,
) -> int:  # fmt: skip
    started = time.monotonic()
    failed_path = backfill.failed_rows_path(options.report) if options.report is not None else None
    result = None
    try:
        result = await backfill.run(
            crm, options.operation.for_run(options.deals_module_id), source, journal=journal, stop=stop,
            report=options.report, failed_rows=failed_path, retry_failed=options.retry_failed,
            batch_size=options.batch_size, batches_in_flight=options.batches_in_flight,
            progress=Printed(output, crm, options.operation.name),
        )  # fmt: skip
    except backfill.InputChanged:
        raise UsageError(
            f"{options.path} changed since its journal {journal.path} was made: a journal resumes the file it was "
            "made for. Put the file back (and add --retry-failed to send its failed rows again), or run the edited "
            f"file with a new journal (--journal NEW); zcrm-async journal failed {journal.path} writes the earlier "
            f"run's failed rows to {backfill.failed_rows_path(journal.path)}, to run on their own"
        ) from None
    except (backfill.JournalMismatch, InputError) as exc:
        raise UsageError(str(exc)) from None
    except MissingScopeError as exc:
        raise RunFailure(exc.message) from None
    except OSError as exc:
        if options.report is None or exc.filename != str(options.report):
            raise
        raise UsageError(f"cannot write the report {options.report}: {exc.strerror or exc}") from None
    except AuthenticationError as exc:
        output.error(f"Zoho refused the credentials: {exc}; items in flight are reconciled on the next run")
    return _ended(options, crm, output, journal, stop, result, time.monotonic() - started)


def _ended(
    options: BackfillOptions, crm: ZohoCRM, output: Output, journal: backfill.Journal, stop: backfill.Stop,
    result: backfill.RunResult | None, elapsed: float,
) -> int:  # fmt: skip
    if result is not None and result.unsettled:
        output.error(
            f"{counted(result.unsettled, 'item')} of an interrupted run could not be read back now; run again to "
            "settle them"
        )
    _, failed = print_outcomes(output, journal)
    show_failed(output, journal, options.report)
    explain_not_allowed(output, journal)
    print_budget(output, crm, elapsed, ideal_rps=options.ideal_rps)
    if options.report is not None:
        output.line(f"report: {options.report}")
        failed_rows_written(
            output, result.failed_rows if result else 0, backfill.failed_rows_path(options.report),
            options.operation.name,
        )  # fmt: skip
    if stop.reason is not None:
        output.error(stop_message(stop, crm, journal.states(), journal.transient_failures()))
        return EXIT_CODES[stop.reason]
    return EXIT_OK if failed == 0 else EXIT_FAILED
