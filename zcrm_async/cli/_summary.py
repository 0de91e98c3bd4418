"""The end of a run: outcomes by code, the journal's counts, and what the run cost in requests and credits."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .. import ZohoCRM
from ..backfill import INVALID_ROW, Journal
from ..outcomes import TRANSIENT
from ._output import Output, counted

__all__ = ["done_lines", "journal_counts", "json_summary", "print_budget", "print_outcomes"]

DONE = "done"


def print_outcomes(output: Output, journal: Journal) -> tuple[int, int]:
    """The table of outcomes by code; returns (items, items that did not succeed)."""
    outcomes = journal.outcomes()
    states = journal.states()
    rows: list[tuple[str, str, int]] = [
        (code, status, count) for (code, status), count in sorted(outcomes.items(), key=lambda kv: -kv[1])
    ]
    rows += [(state.upper(), "not final", count) for state, count in sorted(states.items()) if state != DONE]
    total = sum(states.values())
    failed = total - sum(count for (_, status), count in outcomes.items() if status == "success")
    output.table(f"outcomes of {counted(total, 'item')}", ["code", "status", "items"], rows)
    return total, failed


def journal_counts(path: Path) -> dict[str, int] | None:
    """Items by state in a journal, read without opening it for a run (None: no journal there to read)."""
    if not path.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            rows = db.execute("SELECT state, COUNT(*) FROM items_readable GROUP BY state").fetchall()
    except sqlite3.Error:
        return None
    return {str(state): int(count) for state, count in rows}


def done_lines(path: Path, input_sha256: str, operation: str, *, retry_failed: bool = False) -> set[int] | None:
    """The lines a journal holds as done, read without opening it for a run; None: no journal there.
    ``retry_failed``: without the rows Zoho refused for good, which such a run sends again.

    Raises:
        ValueError: the journal was made for another content of the file, or another operation.
    """
    if not path.is_file():
        return None
    with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("input_sha256") != input_sha256:
            raise ValueError("changed")
        if meta.get("operation") != operation:
            raise ValueError(f"is the journal of a {meta.get('operation')} backfill")
        if not retry_failed:
            return {line for (line,) in db.execute("SELECT line FROM items WHERE state = 2")}
        transient = sorted(TRANSIENT)
        again = (
            "status != 'success' AND code != ? AND NOT transient"
            f" AND code NOT IN ({', '.join('?' * len(transient))})"
        )
        query = f"SELECT line FROM items_readable WHERE state = 'done' AND NOT ({again})"
        return {line for (line,) in db.execute(query, (INVALID_ROW, *transient))}


def json_summary(journal: Journal, exit_code: int, *, report: Path | None) -> dict[str, object]:
    """The run for a program (--json): items, outcomes by code, journal states, the failed count, the exit code."""
    outcomes = journal.outcomes()
    states = journal.states()
    total = sum(states.values())
    succeeded = sum(count for (_, status), count in outcomes.items() if status == "success")
    return {
        "items": total,
        "succeeded": succeeded,
        "failed": total - succeeded,
        "outcomes": [{"code": code, "status": status, "items": count} for (code, status), count in outcomes.items()],
        "states": dict(states),
        "journal": str(journal.path),
        "report": str(report) if report is not None else None,
        "exit_code": exit_code,
    }


def print_budget(output: Output, crm: ZohoCRM, elapsed: float, *, ideal_rps: float | None = None) -> None:
    """What the client spent: requests, credits, token refreshes, the pace, and the throttling, retries and
    errors that happened (a figure that stayed 0 is left out)."""
    counters = crm.counters
    rate = counters.requests / elapsed if elapsed > 0 else 0.0
    trouble = [
        ("429 responses", counters.throttled),
        ("retries", counters.retries),
        ("server errors", counters.server_errors),
        ("transport errors", counters.transport_errors),
    ]
    rows: list[tuple[str, object]] = [
        ("requests", counters.requests),
        *((name, count) for name, count in trouble if count),  # a quiet run's table is not padded with zeros
        ("credits spent", f"{counters.credits_spent:g}"),
        ("credits remaining", "-" if counters.credits_remaining is None else counters.credits_remaining),
        ("token refreshes", crm.token_refreshes),
        ("elapsed", f"{elapsed:.1f} s"),
        ("requests/s", f"{rate:.0f}"),
    ]
    if ideal_rps:
        rows.append(("ideal requests/s (cap / latency)", f"{ideal_rps:.0f} ({rate / ideal_rps:.0%} reached)"))
    output.table("budget", ["figure", "value"], rows)
