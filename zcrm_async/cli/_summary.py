"""The end of a run: outcomes by code, the per-item report, and what the run cost in requests and credits."""

from __future__ import annotations

import json
from pathlib import Path

from .. import ZohoCRM
from ._input import FIELDS
from ._journal import DONE, Journal
from ._output import Output

__all__ = ["print_budget", "print_outcomes", "write_report"]


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
    output.table(f"outcomes of {total} items", ["code", "status", "items"], rows)
    return total, failed


def print_budget(output: Output, crm: ZohoCRM, elapsed: float, *, ideal_rps: float | None = None) -> None:
    """What the client spent: requests, throttling, retries, credits, token refreshes, and the pace."""
    counters = crm.counters
    rate = counters.requests / elapsed if elapsed > 0 else 0.0
    rows: list[tuple[str, object]] = [
        ("requests", counters.requests),
        ("429 responses", counters.throttled),
        ("retries", counters.retries),
        ("server errors", counters.server_errors),
        ("transport errors", counters.transport_errors),
        ("credits spent", f"{counters.credits_spent:g}"),
        ("credits remaining", "-" if counters.credits_remaining is None else counters.credits_remaining),
        ("token refreshes", crm.token_refreshes),
        ("elapsed", f"{elapsed:.1f} s"),
        ("requests/s", f"{rate:.0f}"),
    ]
    if ideal_rps:
        rows.append(("ideal requests/s (cap / latency)", f"{ideal_rps:.0f} ({rate / ideal_rps:.0%} reached)"))
    output.table("budget", ["figure", "value"], rows)


def write_report(path: Path, journal: Journal) -> int:
    """One JSON object per input item, in line order; returns how many were written."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for item in journal.items():
            record: dict[str, object] = {"line": item.line}
            record.update({name: item.fields.get(name) for name in FIELDS})
            record.update(
                code=item.code,
                status=item.status if item.state == DONE else item.state,
                message=item.message,
                attempts=item.attempts,
            )
            out.write(json.dumps(record) + "\n")
            written += 1
    return written
