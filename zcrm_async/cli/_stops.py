"""What the CLI says when a backfill stopped early, and the exit code of each ``StopReason``.

Each message says what happened, what was kept (rows never sent stay pending, rows in flight are read back first
next time, outcomes recorded stay), and what to do: the same command continues where the run stopped.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from .. import ZohoCRM
from ..backfill import Stop, StopReason
from ._exit import EXIT_CREDITS, EXIT_INTERRUPTED, EXIT_REDIS, EXIT_UNREACHABLE

__all__ = ["EXIT_CODES", "stop_message"]

DAY = datetime.timedelta(hours=24)
EXIT_CODES: Mapping[StopReason, int] = {
    StopReason.CREDITS: EXIT_CREDITS,
    StopReason.REDIS: EXIT_REDIS,
    StopReason.UNREACHABLE: EXIT_UNREACHABLE,
    StopReason.REQUESTED: EXIT_INTERRUPTED,
}


def stop_message(stop: Stop, crm: ZohoCRM, states: Mapping[str, int], transient: int) -> str:
    """The one line for a run ``stop`` ended (``transient``: rows that failed for want of an answer)."""
    if stop.reason is StopReason.CREDITS:
        return _credits_out(stop, crm, states)
    if stop.reason is StopReason.REDIS:
        return (
            f"zcrm-async: the run stopped: {stop.detail} (--redis-url; no answer within --redis-timeout counts as "
            f"failed). Nothing was lost: {_kept(states)}. Once Redis answers again, run the same command again: it "
            "continues where this run stopped"
        )
    if stop.reason is StopReason.UNREACHABLE:
        pending, in_flight, done = states.get("pending", 0), states.get("in_flight", 0), states.get("done", 0)
        return (
            f"zcrm-async: the run stopped: Zoho's API ({crm.api_domain}) answered nothing for "
            f"{stop.unreachable_after:g} s while requests failed to reach it or waited for an answer. Nothing was "
            f"lost: {pending} items not sent stay pending, {in_flight} in flight and {transient} that failed for want "
            f"of an answer are read back and tried again next time, {done - transient} are done. Once the API can be "
            "reached, run the same command again: it continues where this run stopped"
        )
    return f"zcrm-async: the run was stopped: {_kept(states)}; run the same command again to resume"


def _kept(states: Mapping[str, int]) -> str:
    return (
        f"{states.get('pending', 0)} items not sent stay pending, {states.get('in_flight', 0)} in flight are read "
        f"back first next time, {states.get('done', 0)} are done"
    )


def _credits_out(stop: Stop, crm: ZohoCRM, states: Mapping[str, int]) -> str:
    """What happened, what was kept, when credits return, and what to do."""
    daily = crm.budget.daily_credits
    back = (stop.started + DAY).strftime("%Y-%m-%d %H:%M UTC")
    said = " (Zoho: none remain)" if crm.counters.credits_remaining == 0 else ""
    return (
        f"zcrm-async: the org's API credits for the day are spent{said}; the run stopped cleanly: "
        f"{states.get('pending', 0)} items not sent stay pending, {states.get('in_flight', 0)} in flight are read "
        f"back first next time, {states.get('done', 0)} are done. Zoho counts credits over a rolling 24 h "
        f"({daily:,} a day by --edition and --users, an estimate: Zoho does not send the org's own figure, which "
        f"its API dashboard shows; about {daily // 24:,} return each hour spent evenly): the "
        f"{crm.counters.credits_spent:g} this run spent return from {back}, credits the org spent earlier sooner. "
        "Run the same command again then: it continues where this run stopped."
    )
