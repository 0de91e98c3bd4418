"""What a backfill prints as it starts and ends: bad rows, a resume, the failed rows by line, NOT_ALLOWED in
plain words, and where the failed rows were written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path

from .. import ZohoCRM
from ..backfill import EMAIL_LAYOUT, Journal, Tally
from ._dry_run import SHOWN_BAD_ROWS, show_bad_rows
from ._output import Output, counted
from ._progress import Tracker, track

__all__ = ["Printed", "explain_not_allowed", "failed_rows_written", "show_failed"]


class Printed:
    """The library run's ``Progress``: what the journal holds as the run starts, then the progress bar."""

    def __init__(self, output: Output, crm: ZohoCRM, label: str) -> None:
        self.output, self.crm, self.label = output, crm, label

    @asynccontextmanager
    async def sending(self, journal: Journal, *, fresh: bool, retried: int) -> AsyncIterator[Tally]:
        refused = journal.refused(SHOWN_BAD_ROWS)
        show_bad_rows(self.output, refused.count, refused.first)
        states = journal.states()
        if not fresh:
            shown = ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in sorted(states.items()))
            self.output.line(f"resuming from {journal.path}: {shown}")
        if retried:
            self.output.result(
                f"{counted(retried, 'item')} that failed before {'is' if retried == 1 else 'are'} tried again"
            )
        # Items already done (bad rows, an earlier run's outcomes) count in the progress as in the summary.
        failed = sum(count for (_, status), count in journal.outcomes().items() if status != "success")
        total = sum(states.values())
        async with track(self.output, self.label, total, self._snapshot(), done=states.get("done", 0),
                         failed=failed) as tracker:  # fmt: skip
            yield _Told(tracker)

    def _snapshot(self) -> Callable[[], dict[str, float]]:
        counters = self.crm.counters

        def snapshot() -> dict[str, float]:
            return {"requests": counters.requests, "credits": counters.credits_spent, "429s": counters.throttled}

        return snapshot


class _Told:
    """The progress bar, as the library's ``Tally``."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def advance(self, rows: int, failed: int) -> None:
        self.tracker.advance(rows, failed=failed)

    def settling(self, rows: int) -> AbstractContextManager[None]:
        return self.tracker.during(f"reading back {counted(rows, 'item')} an earlier run left in flight")


def show_failed(output: Output, journal: Journal, report: Path | None) -> None:
    """The first items Zoho did not take, by line, like the bad rows; where the rest are."""
    failed = journal.refused(SHOWN_BAD_ROWS, by_zoho=True)
    if not failed.count:
        return
    output.failure(f"{counted(failed.count, 'item')} failed:")
    for line, why in failed.first:
        output.failure(f"  line {line}: {why}")
    if failed.count > len(failed.first):
        # A backfill's journal also gives its failed rows alone (a records import's keeps no header to write).
        alone = f", or zcrm-async journal failed {journal.path} for the failed rows alone" * (
            journal.layout == EMAIL_LAYOUT
        )
        where = f"in {report}" if report is not None else (
            f"in a report: run the same command with --report FILE (written from the journal, nothing is sent "
            f"again){alone}"
        )
        output.failure(f"  ... and {failed.count - len(failed.first)} more {where}")


def failed_rows_written(output: Output, count: int, path: Path, operation: str) -> None:
    if count:
        output.failure(
            f"the {counted(count, 'row')} that failed {'is' if count == 1 else 'are'} in {path}: fix them and run "
            f"zcrm-async backfill {operation} {path}"
        )


def explain_not_allowed(output: Output, journal: Journal) -> None:
    """Say in plain words what NOT_ALLOWED means and how to send those items again once it is fixed."""
    refused = journal.outcomes().get(("NOT_ALLOWED", "error"), 0)
    if not refused:
        return
    moved, stranded = journal.noted("NOT_ALLOWED")
    if not moved:
        fate = "relink unlinked none of them"
    else:  # the deal could not be read before the unlink: Zoho refused the link after it
        fate = (
            f"{refused - moved} were never unlinked, {moved - stranded} were unlinked and put back on the deal"
            " they were on (the report's previous_deal_id)"
        )
        if stranded:
            fate += f", {stranded} could not be put back yet: run the same command again to put them back"
    output.result(
        f"{counted(refused, 'item')} {'was' if refused == 1 else 'were'} not linked: their deal is not associated"
        " with their contact (neither the deal's"
        f" Contact_Name nor one of its contact roles); {fate}. The journal keeps them as final: once the contact"
        " is on the deal, run those rows again with a new journal (--journal NEW), or the same command with"
        " --retry-failed"
    )
