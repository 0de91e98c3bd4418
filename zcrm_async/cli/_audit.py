"""``zcrm-async audit --rule R [--contacts ids.txt] [--plan plan.csv] [--report judged.jsonl]``: read only.

Judges every email of the contacts by the rule (``zcrm_async.audit``), prints the tally, and writes the plan as
files the backfill reads as they are (one per backfill: ``plan.relink.csv``, ``plan.link.csv``,
``plan.unlink.csv``), plus ``plan.csv`` with every change and its action. Nothing is changed in Zoho.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

from .. import ZohoCRM
from ..audit import Audit, PlanWriter, ReportWriter, RuleError, Tally, audit, load_rule, plan_files
from ._connect import Connection
from ._export import RefusedRecords, read_ids
from ._failures import UsageError
from ._files import check_writable
from ._output import Output, counted
from ._progress import track
from ._summary import print_budget

__all__ = ["AuditOptions", "audit_command", "run_audit"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuditOptions:
    rule: str
    contacts: Path | None = None
    plan: Path | None = None
    report: Path | None = None
    closed_won: tuple[str, ...] | None = None
    closed_lost: tuple[str, ...] | None = None
    concurrency: int | None = None


async def audit_command(options: AuditOptions, connection: Connection, output: Output) -> int:
    """Run the audit; exit code 0 whether or not it found changes, 1 when a contact's emails could not be read
    (it is named and skipped; a failed read of the deals raises: exit code 1)."""
    refused = RefusedRecords()
    await run_audit(options, connection, output, refused)
    return 0 if not refused.refused else 1


async def run_audit(
    options: AuditOptions, connection: Connection, output: Output, refused: RefusedRecords | None = None
) -> Tally:
    """The audit with its output; returns the tally (the demo reads it). Contacts Zoho refuses to list are
    skipped and named (kept in ``refused`` when given)."""
    refused = refused if refused is not None else RefusedRecords()
    try:
        rule = load_rule(options.rule)
    except RuleError as exc:
        raise UsageError(str(exc)) from None
    if options.concurrency is not None and options.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    check_outputs(options)
    ids = read_ids(options.contacts) if options.contacts is not None else None
    started = time.monotonic()
    async with connection.open() as crm:
        tally = Tally()
        with _writers(options) as (plan, report):
            async with audit(
                crm, rule, contact_ids=ids, closed_won=options.closed_won, closed_lost=options.closed_lost,
                concurrency=options.concurrency, on_refused=refused,
            ) as run:  # fmt: skip
                _describe_read(output, run, options)
                await _judge_all(run, tally, plan, report, output, crm, refused)
        _print_tally(output, tally, options.rule)
        refused.show(output, "contact")
        print_budget(output, crm, time.monotonic() - started)
    _print_next(output, plan, options)
    return tally


def check_outputs(options: AuditOptions) -> None:
    """Every file the audit would write, checked before any request: a plan lost at the end costs the whole read.

    Raises:
        UsageError: one of them cannot be written (``check_writable``).
    """
    if options.plan is not None:
        check_writable(options.plan, "--plan")
        for path in plan_files(options.plan).values():  # replaced or removed by this audit
            check_writable(path, "--plan")
    if options.report is not None:
        check_writable(options.report, "--report")


@contextlib.contextmanager
def _writers(options: AuditOptions) -> Iterator[tuple[PlanWriter | None, ReportWriter | None]]:
    with contextlib.ExitStack() as stack:
        plan = stack.enter_context(PlanWriter(options.plan)) if options.plan is not None else None
        report = stack.enter_context(ReportWriter(options.report)) if options.report is not None else None
        yield plan, report


async def _judge_all(
    run: Audit, tally: Tally, plan: PlanWriter | None, report: ReportWriter | None, output: Output, crm: ZohoCRM,
    refused: RefusedRecords,
) -> None:  # fmt: skip
    def snapshot() -> dict[str, float]:
        return {"requests": crm.counters.requests, "to change": tally.changes}

    async with track(output, "emails judged", None, snapshot) as tracker:
        refused.tracker = tracker
        async for judgement in run:
            tally.add(judgement)
            if plan is not None:
                plan.add(judgement)
            if report is not None:
                report.add(judgement)
            tracker.advance(1)


def _describe_read(output: Output, run: Audit, options: AuditOptions) -> None:
    lost = ", ".join(run.outcomes.stages("lost")) or "none"
    won = ", ".join(run.outcomes.stages("won")) or "none"
    source = "--closed-won/--closed-lost" if options.closed_won is not None and options.closed_lost is not None \
        else "the Stage picklist"  # fmt: skip
    output.line(f"stages (from {source}): closed-won {won}; closed-lost {lost}")
    output.line(f"{counted(len(run.deals), 'deal')}; reading the emails of {counted(len(run.contact_ids), 'contact')}")
    if run.deals.skipped:
        output.error(
            f"zcrm-async: {run.deals.skipped} deal records Zoho listed had no usable id (none, null, or not a Zoho"
            " id) and were skipped: no plan row names them"
        )


def _print_tally(output: Output, tally: Tally, rule: str) -> None:
    output.table(f"audit by rule {rule}", ["emails", "count"], tally.rows())


def _print_next(output: Output, plan: PlanWriter | None, options: AuditOptions) -> None:
    if plan is None or options.plan is None:
        return
    files = plan.files()
    if not files:
        output.result(f"plan: {options.plan} (nothing to change)")
        return
    output.result(f"plan: {options.plan}; apply it with:")
    for kind, path in files.items():
        output.result(f"  zcrm-async backfill {kind} {path}")
        journal = path.with_name(path.name + ".journal.sqlite")
        if journal.exists():
            output.result(f"    ({journal} is the journal of an earlier plan: remove it or pass --journal)")
