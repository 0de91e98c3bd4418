"""A backfill stops cleanly when the org's API credits for the day run out, and says when they come back.

Zoho counts credits over a rolling 24 h; once they are spent it answers 429 TOO_MANY_REQUESTS with
``X-API-CREDITS-REMAINING: 0``, and the client's budget then holds each call until credits return, which at Zoho's
pace takes hours. A backfill does not sit there with its items in flight: as soon as the budget has no credit for
one more call, or Zoho says none remain, the run is cancelled. Items never taken stay pending; items whose requests
were out stay in flight, and the next run reads them back before sending anything (so nothing is lost or sent
twice); outcomes already recorded stay. The rerun, once credits are back, continues from there.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping

import anyio

from .._client import ZohoCRM

__all__ = ["CreditWatch", "credits_out_message"]

#: How often the budget is looked at; a call waiting for credits would wait minutes to hours, so this is prompt.
CHECK_EVERY = 0.2
#: The call each operation spends most: when not even one of it fits, the run stops.
MAIN_CALL: Mapping[str, str] = {"link": "emails.link", "relink": "emails.link", "unlink": "emails.unlink"}
DAY = datetime.timedelta(hours=24)


@dataclasses.dataclass(slots=True)
class CreditWatch:
    """Watches the client's credits while a run sends; ``run`` cancels ``scope`` when they are spent."""

    crm: ZohoCRM
    operation: str
    #: Set when the run was stopped for want of credits.
    spent: bool = False
    started: datetime.datetime = dataclasses.field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    def out_of_credits(self) -> bool:
        """Zoho said no credits remain, or the budget cannot pay for one more call."""
        if self.crm.counters.credits_remaining == 0:
            return True
        available = getattr(self.crm.limiter, "credits_available", None)  # a shared (Redis) budget has none
        cost = self.crm.budget.cost_of(MAIN_CALL.get(self.operation, "emails.link"))
        return isinstance(available, float | int) and available < cost

    async def run(self, scope: anyio.CancelScope) -> None:
        # Polled, not awaited: the budget has no event for "empty", and a check is a few attribute reads.
        while True:
            if self.out_of_credits():
                self.spent = True
                scope.cancel()
                return
            await anyio.sleep(CHECK_EVERY)


def credits_out_message(watch: CreditWatch, states: Mapping[str, int]) -> str:
    """What happened, what was kept, when credits return, and what to do."""
    crm = watch.crm
    daily = crm.budget.daily_credits
    back = (watch.started + DAY).strftime("%Y-%m-%d %H:%M UTC")
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
