"""``run``: a journaled, resumable backfill of any ``BackfillOp``, from a service's code or from the CLI.

A run is: bind the journal to the input and record its rows in batches (never all in memory); put back in flight
the rows an earlier run failed for a transient cause (and, asked to, back to pending those it failed for good);
settle the rows a killed run left in flight by reading them back (the op's ``settle``), a window at a time; then
take pending rows a batch at a time (marked in flight and committed first), send them through the op, and record
each batch's outcomes in the commit that takes its worker's next batch. Several batches are in flight at once so
batch edges do not idle the budget. A ``Stop`` ends it early and cleanly; the same call resumes it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from .._builders import builder
from .._bulk import ItemResult
from .._errors import RateLimitError, RedisUnavailable
from .._fanout import first_error
from ..outcomes import REDIS_UNAVAILABLE
from ._journal import Journal, JournalItem
from ._layout import Source
from ._op import BackfillOp
from ._outcome_table import Outcome
from ._report import Report, write_failed_rows
from ._stop import Stop, StopReason

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["RECONCILE_WINDOW", "Progress", "RunResult", "Tally", "run"]

#: Rows in flight read back at a time after a kill.
RECONCILE_WINDOW = 2_000
#: ``Outcome(...)`` of every field in order, at half the cost: one a row sent.
_outcome = builder(Outcome)

class Tally(Protocol):
    """Told as rows finish while a run sends."""

    def advance(self, rows: int, failed: int) -> None:
        """``rows`` more rows are done, ``failed`` of them not successfully."""

    def settling(self, rows: int) -> AbstractContextManager[None]:
        """Held while ``rows`` rows a killed run left in flight are read back (nothing is sent meanwhile)."""


class Progress(Protocol):
    """What a caller sees of a run as it goes (the CLI prints it; a service may log it)."""

    def sending(self, journal: Journal, *, fresh: bool, retried: int) -> AbstractAsyncContextManager[Tally]:
        """Entered once the rows are recorded (``fresh``: a new journal) and ``retried`` earlier failures are
        back to be tried again, before anything is sent; yields what is told as rows finish."""
        ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """How a run ended; the journal holds every row's outcome.

    Attributes:
        states: rows by journal state (pending, in_flight, done).
        outcomes: done rows by (code, status).
        stopped: why the run stopped before its rows were done (None: it was not stopped).
        unsettled: rows a killed run left in flight that could not be read back now (the next run tries).
        retried: rows of earlier runs tried again by this one.
        failed_rows: how many rows ``failed_rows`` holds (0: no file).
    """

    states: Mapping[str, int]
    outcomes: Mapping[tuple[str, str], int]
    stopped: StopReason | None
    unsettled: int
    retried: int
    failed_rows: int = 0

    @property
    def failed(self) -> int:
        """Rows not done successfully (failed, refused, or not done yet)."""
        succeeded = sum(count for (_, status), count in self.outcomes.items() if status == "success")
        return sum(self.states.values()) - succeeded


async def run(
    crm: ZohoCRM,
    op: BackfillOp,
    source: Source,
    *,
    journal: Path | Journal,
    stop: Stop | None = None,
    report: Path | None = None,
    failed_rows: Path | None = None,
    retry_failed: bool = False,
    batch_size: int = 200,
    batches_in_flight: int = 4,
    progress: Progress | None = None,
) -> RunResult:
    """Run (or resume) the backfill of ``source``'s rows by ``op``, journaled in ``journal``.

    Args:
        journal: the journal's file (opened and closed here), or a ``Journal`` the caller keeps open.
        stop: how the run is stopped early (and says why); default: one stopping after 60 s unreachable.
        report: write one JSON line per row here (rewritten whole on a resume).
        failed_rows: write the rows that did not succeed here, as a CSV the same backfill reads.
        retry_failed: send again rows an earlier run failed for good (refused by Zoho; not bad rows).

    Raises:
        JournalMismatch: the journal is another run's (``InputChanged``: the input's content changed).
        JournalBusy: another run holds the journal.
        AuthenticationError, MissingScopeError: Zoho refused the credentials (rows in flight stay for the next run).
    """
    if batch_size < 1 or batches_in_flight < 1:
        raise ValueError("batch_size and batches_in_flight must be at least 1")
    if isinstance(journal, Journal):
        return await _bound(crm, op, source, journal, stop or Stop(), report, failed_rows, retry_failed,
                            (batch_size, batches_in_flight), progress or _Quiet())  # fmt: skip
    with Journal(journal, op.layout) as opened:
        return await run(
            crm, op, source, journal=opened, stop=stop, report=report, failed_rows=failed_rows,
            retry_failed=retry_failed, batch_size=batch_size, batches_in_flight=batches_in_flight, progress=progress,
        )  # fmt: skip


async def _bound(
    crm: ZohoCRM, op: BackfillOp, source: Source, journal: Journal, stop: Stop, report_path: Path | None,
    failed_path: Path | None, retry_failed: bool, sizes: tuple[int, int], progress: Progress,
) -> RunResult:  # fmt: skip
    fresh = journal.bind(source, op.name)
    report = Report(report_path, journal) if report_path is not None else None
    sender = _Sender(crm, op, journal, stop, report, *sizes)
    retried = 0
    try:
        await op.prepare(crm)
        retried = journal.reopen_transient_failures() + (journal.retry_failed() if retry_failed else 0)
        async with progress.sending(journal, fresh=fresh, retried=retried) as tally:
            sender.tally = tally
            await sender.run()
    except RedisUnavailable as exc:  # outside the sending (an id, a read-back): nothing was sent for it
        stop.request(StopReason.REDIS, str(exc))
    except RateLimitError:  # before the sending (an id): the credits are spent
        if crm.counters.credits_remaining != 0:
            raise
        stop.request(StopReason.CREDITS)
    finally:
        if report is not None:
            report.close()
    written = write_failed_rows(failed_path, journal) if failed_path is not None else 0
    return RunResult(
        states=journal.states(), outcomes=journal.outcomes(), stopped=stop.reason, unsettled=sender.unsettled,
        retried=retried, failed_rows=written,
    )  # fmt: skip


class _Quiet:
    """No one watching."""

    @asynccontextmanager
    async def sending(self, journal: Journal, *, fresh: bool, retried: int) -> AsyncIterator[Tally]:
        yield self

    def advance(self, rows: int, failed: int) -> None:
        return None

    @contextmanager
    def settling(self, rows: int) -> Iterator[None]:
        yield


class _Sender:
    """Settles the rows in flight, then sends the pending ones, until done or stopped."""

    def __init__(
        self, crm: ZohoCRM, op: BackfillOp, journal: Journal, stop: Stop, report: Report | None,
        batch_size: int, batches_in_flight: int,
    ) -> None:  # fmt: skip
        self.crm, self.op, self.journal, self.stop, self.report = crm, op, journal, stop, report
        self.batch_size, self.batches_in_flight = batch_size, batches_in_flight
        self.tally: Tally = _Quiet()
        #: Rows in flight that could not be read back now.
        self.unsettled = 0
        #: Rows Redis kept from being sent: back to pending when the run ends (never sent, not failures).
        self.kept_back: list[int] = []

    async def run(self) -> None:
        """Settle, then send, watching the stop: a stop cancels what is out; what was answered is recorded."""
        with anyio.CancelScope() as scope:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self.stop.watch, self.crm, self.op.main_call)
                    tg.start_soon(self._cancel_when_stopped, scope)
                    await self._settle_in_flight()
                    await self._send_pending()
                    tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise first_error(group) from None
            finally:
                if self.kept_back:
                    self.journal.release(self.kept_back)

    async def _cancel_when_stopped(self, scope: anyio.CancelScope) -> None:
        await self.stop.wait()
        scope.cancel()

    async def _settle_in_flight(self) -> None:
        stuck = self.journal.in_flight_count()
        if not stuck:
            return
        after = 0
        with self.tally.settling(stuck):
            while window := self.journal.in_flight(after, RECONCILE_WINDOW):
                after = window[-1].line
                found = await self.op.settle(self.crm, window)
                self.journal.finish(found.outcomes)
                self.journal.release(found.resend, attempts=1)
                self.tally.advance(len(found.outcomes), sum(1 for o in found.outcomes if o.status != "success"))
                self.unsettled += len(found.unknown)

    async def _send_pending(self) -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(self.batches_in_flight):
                tg.start_soon(self._worker)

    async def _worker(self) -> None:
        # The batch just sent: its outcomes are recorded in the commit that takes the next batch.
        sent: list[Outcome] = []
        try:
            while not self.stop.stopped:
                # take_pending is synchronous: no other worker can run between its SELECT and its COMMIT.
                batch = self.journal.take_pending(self.batch_size, finished=sent)
                sent = []
                if not batch:
                    break
                await self._send(batch, sent)
                if self.report is not None:
                    self.report.catch_up()
        finally:  # stopped, cancelled or failed: what was answered is recorded now
            if sent:
                self.journal.finish(sent)

    async def _send(self, batch: Sequence[JournalItem], into: list[Outcome]) -> None:
        """One batch through the op; each answer is appended to ``into`` as it comes, once per row. A row Redis
        kept from being sent is no outcome: it goes back to pending, and the run stops."""
        written: set[int] = set()

        def answered(results: Sequence[tuple[int, ItemResult[Any]]]) -> None:
            outcomes = []
            for line, result in results:
                if line in written:
                    continue
                written.add(line)
                if not result.ok and result.details.get("cause") == REDIS_UNAVAILABLE:
                    self.kept_back.append(line)
                    self.stop.request(StopReason.REDIS, result.message)
                    continue
                outcomes.append(
                    _outcome(line, result.code, result.status, result.message, result.attempts, result.transient)
                )
            if outcomes:
                into.extend(outcomes)
                self.tally.advance(len(outcomes), sum(1 for o in outcomes if o.status != "success"))

        await self.op.send(self.crm, batch, answered, self.journal.remember)
