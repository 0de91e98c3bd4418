"""``zcrm-async backfill link|unlink|relink FILE``: the journaled, resumable runner.

A run is: read the file's identity; bind the journal to it and record the rows in batches (never all in memory);
reconcile items a killed run left in flight (read
each email back: if the intended state already holds, it is final without sending again); then take pending
items a batch at a time (marked in flight and committed first), send them through the library, and write each
request's outcomes as they arrive. Several batches are in flight at once so batch edges do not idle the budget.
"""

from __future__ import annotations

import csv
import dataclasses
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio

from .. import (
    APIError,
    AuthenticationError,
    DealLink,
    ItemResult,
    MissingScopeError,
    RateLimitError,
    RedisUnavailable,
    ZohoCRM,
    ZohoError,
)
from ..plumbing import first_error
from ._connect import EXIT_REDIS, Connection, RunFailure, UsageError, check_writable
from ._credits import CreditWatch, credits_out_message
from ._input import InputError, InputSource, open_input, read_input
from ._journal import IN_FLIGHT, Journal, JournalBusy, JournalItem, JournalMismatch, Outcome
from ._operations import Operation
from ._output import Output, counted
from ._plan import show_plan
from ._progress import Tracker, track
from ._reach_watch import UNREACHABLE_AFTER, ReachWatch
from ._redis_watch import RedisWatch, kept_back_by_redis
from ._rows import FIELDS
from ._summary import Report, done_lines, json_summary, print_budget, print_outcomes

__all__ = [
    "EXIT_CREDITS",
    "EXIT_JOURNAL",
    "EXIT_REDIS",
    "EXIT_UNREACHABLE",
    "BackfillOptions",
    "backfill",
    "default_journal",
    "reconcile_and_send",
]

SHOWN_BAD_ROWS = 20
RECONCILE_WINDOW = 2_000
#: The day's credits ran out; the run stopped cleanly and the same command continues it (sysexits' EX_TEMPFAIL).
EXIT_CREDITS = 75
#: The journal failed after it was opened (a corrupt page, a full disk, a read-only file) (sysexits' EX_IOERR).
EXIT_JOURNAL = 74
#: Zoho's API stopped answering mid-run (--unreachable-after); the same command continues once it answers
#: (sysexits' EX_UNAVAILABLE, as for Redis).
EXIT_UNREACHABLE = 69


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BackfillOptions:
    operation: Operation
    path: Path
    journal: Path | None = None
    report: Path | None = None
    dry_run: bool = False
    batch_size: int = 200
    batches_in_flight: int = 4
    #: Sent as linked_record.module.id when given (real Zoho documents it as mandatory; see README).
    deals_module_id: str | None = None
    #: The pace to compare against (the demo knows its server: cap / latency).
    ideal_rps: float | None = None
    #: Seconds without an answer, while requests fail, before the run stops (--unreachable-after).
    unreachable_after: float = UNREACHABLE_AFTER


def default_journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal.sqlite")


async def backfill(options: BackfillOptions, connection: Connection, output: Output) -> int:
    """Run (or resume) a backfill; returns the exit code: 0 all succeeded, 1 some did not, ``EXIT_CREDITS`` the
    day's credits ran out, ``EXIT_REDIS`` Redis failed or ``EXIT_UNREACHABLE`` Zoho's API stopped answering (the rerun
    continues), ``EXIT_JOURNAL`` the journal failed after it was opened.

    Raises:
        UsageError: an unreadable file, a journal of another run, missing credentials (exit code 2).
    """
    if options.batch_size < 1 or options.batches_in_flight < 1:
        raise UsageError("--batch-size and --batches-in-flight must be at least 1")
    if not 1 <= options.unreachable_after <= 86_400:  # NaN too
        raise UsageError("--unreachable-after must be between 1 and 86400 seconds")
    if options.dry_run:
        return _dry_run(options, output)
    try:
        source = open_input(options.path, options.operation)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    connection.check()  # before the journal exists: missing credentials should leave no file behind
    if options.report is not None:
        check_writable(options.report, "--report")
        check_writable(failed_rows_path(options.report), "--report")  # the failed rows go beside it
    journal_path = options.journal or default_journal(options.path)
    check_writable(journal_path, "--journal", folder_too=True)
    _refuse_overwriting(options, journal_path)
    # The credentials (at most one refresh) and the API server are checked before the journal is created, so a
    # wrong secret or an unreachable server leaves no journal and marks no item in flight.
    async with connection.open() as crm:
        try:
            journal = Journal(journal_path)
        except (JournalBusy, JournalMismatch) as exc:
            raise UsageError(str(exc)) from None
        except (OSError, sqlite3.DatabaseError) as exc:
            raise UsageError(f"cannot use {journal_path} as a journal: {exc}") from None
        code = await _in_journal(options, crm, output, journal, source)
    if code != EXIT_JOURNAL:
        output.line(f"journal: {journal_path}")
    return code


def _refuse_overwriting(options: BackfillOptions, journal_path: Path) -> None:
    """The report replaces its file and the journal is a database: neither may be the input, nor one another."""
    named = [("--report", options.report), ("--journal", journal_path)]
    for flag, path in named:
        others = [("the input file", options.path)] + [("the journal", journal_path)] * (flag == "--report")
        for what, other in others:
            if path is not None and _same_file(path, other):
                raise UsageError(f"{flag} {path} is {what}: it would be overwritten; name another file")


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)
    except OSError:  # one of them does not exist yet: the same path, once resolved, is still the same file
        return one.resolve() == other.resolve()


async def _in_journal(
    options: BackfillOptions, crm: ZohoCRM, output: Output, journal: Journal, source: InputSource
) -> int:
    journal_path = journal.path
    try:
        with journal:
            code = await _journaled(options, crm, output, journal, source)
            output.summary(json_summary(journal, code, report=options.report))
    except sqlite3.Error as exc:
        # A corrupt page, a full disk, a file made read-only: each transaction either committed or did not, so
        # nothing is marked done that was not; what was in flight is read back once the journal works again.
        output.error(
            f"zcrm-async: error: the journal {journal_path} failed ({exc}); nothing was lost: outcomes recorded "
            "before stay, items in flight are read back by the next run. Free disk space or fix the file, then "
            "run the same command again (or --journal NEW to start over)"
        )
        return EXIT_JOURNAL
    return code


def _dry_run(options: BackfillOptions, output: Output) -> int:
    try:
        source = read_input(options.path, options.operation)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    bad = source.bad
    _show_bad_rows(output, len(bad), [(row.line, row.error or "") for row in bad[:SHOWN_BAD_ROWS]])
    good = source.good
    done = _done_in_journal(options)
    if done:
        good = [row for row in good if row.line not in done]
        output.result(f"the journal holds {counted(len(done), 'row')} as done: a run sends none of them again")
    module_id = options.deals_module_id
    if module_id is None and options.operation.name != "unlink":
        module_id = DEALS_MODULE_ID_SHOWN  # the run learns it before sending (Get Modules)
        output.result(
            f"linked_record.module.id is shown as {DEALS_MODULE_ID_SHOWN}: the run looks the Deals module's id up"
            " once (Get Modules) before sending, or takes --deals-module-id"
        )
    show_plan(output, options.operation, good, module_id)
    return 0 if not bad else 1


#: What a dry run shows for the Deals module's id it has not looked up (a dry run sends nothing).
DEALS_MODULE_ID_SHOWN = "<the Deals module's id>"


def _done_in_journal(options: BackfillOptions) -> set[int]:
    """The lines the file's journal holds as done; a journal the real run would refuse is refused here too."""
    journal = options.journal or default_journal(options.path)
    try:
        identity = open_input(options.path, options.operation)
        done = done_lines(journal, identity.sha256, options.operation.name)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        if str(exc) == "changed":
            raise UsageError(
                f"{options.path} changed since its journal {journal} was made: the run would refuse it; put the "
                "file back, or pass a new journal (--journal NEW)"
            ) from None
        raise UsageError(f"{journal} {exc}; pass --journal NEW") from None
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read {journal} as a journal: {exc}") from None
    return done or set()


async def _journaled(
    options: BackfillOptions, crm: ZohoCRM, output: Output, journal: Journal, source: InputSource
) -> int:
    try:
        fresh = journal.bind(source, options.operation.name)
    except (JournalMismatch, InputError) as exc:
        raise UsageError(str(exc)) from None
    refused = journal.refused(SHOWN_BAD_ROWS)
    _show_bad_rows(output, refused.count, refused.first)
    if not fresh:
        output.line(f"resuming from {journal.path}: {_states(journal)}")
    report = None
    if options.report is not None:
        try:
            report = Report(options.report, journal)
        except OSError as exc:
            raise UsageError(f"cannot write the report {options.report}: {exc.strerror or exc}") from None
    started = time.monotonic()
    watch = CreditWatch(crm, options.operation.name)
    redis = RedisWatch()
    reach = ReachWatch(crm, patience=options.unreachable_after)
    try:
        await _run(crm, journal, options, output, (watch, reach), report, redis)
    except AuthenticationError as exc:
        output.error(f"Zoho refused the credentials: {exc}; items in flight are reconciled on the next run")
    except RedisUnavailable as exc:  # outside the sending (the Deals module's id, a read-back): nothing was sent
        redis.failed(str(exc))
    except RateLimitError:  # before the sending (the Deals module's id): the credits are still spent
        if crm.counters.credits_remaining != 0:
            raise
        watch.spent = True
    _, failed = print_outcomes(output, journal)
    _show_failed(output, journal, options.report)
    _explain_not_allowed(output, journal)
    print_budget(output, crm, time.monotonic() - started, ideal_rps=options.ideal_rps)
    if report is not None:
        report.close()
        output.line(f"report: {options.report}")
        _write_failed_rows(output, journal, options)
    if redis.stopped:
        output.error(redis.message(journal.states()))
        return EXIT_REDIS
    if watch.spent:
        output.error(credits_out_message(watch, journal.states()))
        return EXIT_CREDITS
    if reach.unreachable:
        output.error(reach.message(journal.states(), journal.transient_failures()))
        return EXIT_UNREACHABLE
    return 0 if failed == 0 else 1


async def _run(
    crm: ZohoCRM,
    journal: Journal,
    options: BackfillOptions,
    output: Output,
    watches: tuple[CreditWatch, ReachWatch],
    report: Report | None,
    redis: RedisWatch,
) -> None:
    if options.deals_module_id is None and options.operation.name != "unlink":
        try:  # learned once, before anything is sent: a token without the modules scope stops the run here
            await crm.modules.id_of("Deals")
        except MissingScopeError as exc:
            raise RunFailure(exc.message) from None
    reopened = journal.reopen_transient_failures()
    if reopened:
        output.result(
            f"{counted(reopened, 'item')} that failed for a transient cause (no response, 429, 5xx) "
            f"{'is' if reopened == 1 else 'are'} tried again"
        )
    states = journal.states()
    total = sum(states.values())

    def snapshot() -> dict[str, float]:
        counters = crm.counters
        return {"requests": counters.requests, "credits": counters.credits_spent, "429s": counters.throttled}

    label = options.operation.name
    unknown = 0
    # Items already done (bad rows, an earlier run's outcomes) count in the progress as in the summary.
    failed = sum(count for (_, status), count in journal.outcomes().items() if status != "success")
    async with track(output, label, total, snapshot, done=states.get("done", 0), failed=failed) as tracker:
        # Cancelled by a watch when the day's credits are spent or the API stops answering, or at the first item
        # Redis kept back: what was not recorded stays pending or in flight.
        credits, reach = watches
        with anyio.CancelScope() as scope:
            redis.scope = scope
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(credits.run, scope)
                    tg.start_soon(reach.run, scope)
                    unknown = await reconcile_and_send(
                        crm, journal, options.operation, tracker, options.batch_size, options.batches_in_flight,
                        deals_module_id=options.deals_module_id, report=report,
                        stop=lambda: credits.out_of_credits() or reach.unreachable, redis=redis,
                    )  # fmt: skip
                    tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise first_error(group) from None
    if unknown:
        output.error(
            f"{counted(unknown, 'item')} of an interrupted run could not be read back now; run again to settle them"
        )


async def reconcile_and_send(
    crm: ZohoCRM,
    journal: Journal,
    operation: Operation,
    tracker: Tracker,
    batch_size: int,
    batches_in_flight: int,
    *,
    deals_module_id: str | None = None,
    report: Report | None = None,
    stop: Callable[[], bool] | None = None,
    redis: RedisWatch | None = None,
) -> int:
    """Reconcile, then send every pending item; returns how many in-flight items could not be reconciled.

    Items are taken a batch at a time, so only the batches in flight are in memory; ``stop`` is asked before
    each batch is taken (True: take no more), as is ``redis`` (which stops the run when Redis keeps an item
    back; those items go back to pending as the run ends); the report catches up after each batch.
    """
    unknown = await reconcile(crm, journal, operation, tracker)

    def stopped() -> bool:
        return (stop is not None and stop()) or (redis is not None and redis.stopped)

    async def worker() -> None:
        # The batch just sent: its outcomes are recorded in the commit that takes the next batch.
        sent: list[Outcome] = []
        try:
            while not stopped():
                # take_pending is synchronous: no other worker can run between its SELECT and its COMMIT.
                batch = journal.take_pending(batch_size, finished=sent)
                sent = []
                if not batch:
                    break
                await send_batch(
                    crm, operation, batch, tracker, deals_module_id=deals_module_id, into=sent, redis=redis,
                    remember=journal.remember_previous,
                )  # fmt: skip
                if report is not None:
                    report.catch_up()
        finally:  # stopped, cancelled or failed: what was answered is recorded now
            if sent:
                journal.finish(sent)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(batches_in_flight):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    finally:
        if redis is not None and redis.kept_back:  # never sent: not failures, and not in flight either
            journal.release(redis.kept_back)
    return unknown


async def send_batch(
    crm: ZohoCRM,
    operation: Operation,
    batch: Sequence[JournalItem],
    tracker: Tracker,
    *,
    deals_module_id: str | None = None,
    into: list[Outcome],
    redis: RedisWatch | None = None,
    remember: Callable[[Iterable[tuple[int, str]]], None] | None = None,
) -> None:
    """Send one batch of in-flight items; each request's outcomes are appended to ``into`` as it answers, for the
    caller to record (with its next batch, or when it stops). With ``redis``, an item Redis kept back is no
    outcome: ``redis`` keeps its line (to go back to pending) and stops the run. ``remember`` is given (line,
    deal id) for each email a relink is about to take off its deal, and must make it durable before it returns:
    the unlink is sent after it."""
    lines = {(item.fields["contact_id"], item.fields["message_id"]): item.line for item in batch}
    written: set[int] = set()

    def record(results: Sequence[ItemResult[Any]]) -> None:
        outcomes = []
        for result in results:
            line = lines[(result.item.contact_id, result.item.message_id)]
            if line in written:
                continue
            written.add(line)
            if redis is not None and kept_back_by_redis(result):
                redis.kept(line, result.message)
                continue
            outcomes.append(
                Outcome(line, result.code, result.status, result.message, result.attempts, result.transient)
            )
        if outcomes:
            into.extend(outcomes)
            tracker.advance(len(outcomes), failed=sum(1 for o in outcomes if o.status != "success"))

    async def before_unlink(moving: Sequence[DealLink]) -> None:
        if remember is not None:
            remember(
                (lines[(link.contact_id, link.message_id)], link.previous_deal_id)
                for link in moving
                if link.previous_deal_id is not None
            )

    items = [operation.item(item.fields, item.previous_deal_id) for item in batch]
    result = await operation.send(crm.emails, items, record, deals_module_id, before_unlink)
    record(result.results)  # anything a progress callback did not see


async def reconcile(crm: ZohoCRM, journal: Journal, operation: Operation, tracker: Tracker) -> int:
    """Decide each item a killed run left in flight by reading its email back; returns how many stay unknown.

    link: linked to the intended deal -> SUCCESS; linked to another -> ALREADY_LINKED; not linked -> send again.
    relink: linked to the intended deal -> SUCCESS; otherwise send again (relink converges from any state).
    unlink: not linked -> SUCCESS; still linked -> send again.
    An email that cannot be read now (no response, 429, 5xx) stays in flight for the next run.
    Items are read a window of ``RECONCILE_WINDOW`` at a time.
    """
    unknown = after = 0
    stuck = journal.states().get(IN_FLIGHT, 0)
    if not stuck:
        return 0
    with tracker.during(f"reading back {counted(stuck, 'item')} an earlier run left in flight"):
        while window := journal.in_flight(after, RECONCILE_WINDOW):
            after = window[-1].line
            unknown += await _reconcile_window(crm, journal, operation, window, tracker)
    return unknown


async def _reconcile_window(
    crm: ZohoCRM, journal: Journal, operation: Operation, stuck: Sequence[JournalItem], tracker: Tracker
) -> int:
    outcomes: list[Outcome] = []
    resend: list[int] = []
    unknown: list[int] = []
    slots = anyio.CapacityLimiter(crm.budget.concurrency)

    by_contact: dict[str, list[JournalItem]] = {}
    for item in stuck:
        by_contact.setdefault(item.fields["contact_id"], []).append(item)

    async def check(contact_id: str, items: list[JournalItem]) -> None:
        # Only Get Emails of a Record shows where emails are linked (the single-email answer does not, per the
        # docs), so each contact's list is read once for all of its items in flight.
        lines = [item.line for item in items]
        async with slots:
            try:
                links = await crm.emails.where_linked(contact_id, [item.fields["message_id"] for item in items])
            except AuthenticationError:
                raise
            except APIError as exc:
                if exc.status in (429,) or exc.status >= 500:
                    unknown.extend(lines)
                else:  # Zoho refuses to show them: sending again gets Zoho's own answer for each item
                    resend.extend(lines)
                return
            except ZohoError:
                unknown.extend(lines)
                return
        for item in items:
            if item.fields["message_id"] not in links:
                resend.append(item.line)  # its link could not be read: Zoho's answer to the resend decides
                continue
            record = links[item.fields["message_id"]]
            linked = record.id if record is not None else None
            decided = operation.settled(item.fields.get("deal_id"), linked)
            if decided is None:
                resend.append(item.line)
            else:
                outcomes.append(Outcome(item.line, *decided, 1))

    try:
        async with anyio.create_task_group() as tg:
            for contact_id, items in by_contact.items():
                tg.start_soon(check, contact_id, items)
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    journal.finish(outcomes)
    journal.release(resend, attempts=1)
    tracker.advance(len(outcomes), failed=sum(1 for o in outcomes if o.status != "success"))
    return len(unknown)


def _explain_not_allowed(output: Output, journal: Journal) -> None:
    """Say in plain words what NOT_ALLOWED means and how to send those items again once it is fixed."""
    refused = journal.outcomes().get(("NOT_ALLOWED", "error"), 0)
    if not refused:
        return
    moved, stranded = journal.moved_off_a_deal("NOT_ALLOWED")
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
        " is on the deal, run those rows again with a new journal (--journal NEW)"
    )


def failed_rows_path(report: Path) -> Path:
    """Beside the report, the rows that failed: ``report.jsonl`` -> ``report.failed.csv``."""
    return report.with_name(f"{report.stem}.failed.csv")


def _write_failed_rows(output: Output, journal: Journal, options: BackfillOptions) -> None:
    """The rows that did not succeed, as a CSV this backfill reads as it is: fix them, run it on its own."""
    assert options.report is not None
    path = failed_rows_path(options.report)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for item in journal.items():
            if item.status is not None and item.status != "success":
                writer.writerow([item.fields.get(name, "") for name in FIELDS])
                count += 1
    if not count:
        path.unlink()
        return
    output.failure(
        f"the {counted(count, 'row')} that failed {'is' if count == 1 else 'are'} in {path}: fix them and run "
        f"zcrm-async backfill {options.operation.name} {path}"
    )


def _show_failed(output: Output, journal: Journal, report: Path | None) -> None:
    """The first items Zoho did not take, by line, like the bad rows; where the rest are."""
    failed = journal.refused(SHOWN_BAD_ROWS, by_zoho=True)
    if not failed.count:
        return
    output.failure(f"{counted(failed.count, 'item')} failed:")
    for line, why in failed.first:
        output.failure(f"  line {line}: {why}")
    if failed.count > len(failed.first):
        where = f"in {report}" if report is not None else (
            "in a report: run the same command with --report FILE (written from the journal, nothing is sent again)"
        )
        output.failure(f"  ... and {failed.count - len(failed.first)} more {where}")


def _show_bad_rows(output: Output, count: int, first: Sequence[tuple[int, str]]) -> None:
    if not count:
        return
    output.failure(f"{counted(count, 'bad row')} (not sent; counted as failed):")
    for _, error in first:
        output.failure(f"  {error}")
    if count > len(first):
        output.failure(f"  ... and {count - len(first)} more (see --report)")


def _states(journal: Journal) -> str:
    return ", ".join(f"{count} {state.replace('_', ' ')}" for state, count in sorted(journal.states().items()))
