"""FakeZoho's API limits: the rolling 24 h credit window and the concurrency caps (Zoho's "API Limits" page)."""

from __future__ import annotations

import collections
from collections.abc import Callable

from aiohttp import web

from ._fake_record_writes import write_cost

#: Insert, Update and Upsert Records: priced by their records.
WRITE_ROUTES = frozenset({"insert_records", "update_records", "upsert_records"})
#: Credits are a rolling 24 h allowance; page tokens live as long.
CREDIT_WINDOW = 86_400.0
#: "API Limits": a Bulk Read job costs 50 credits, a Bulk Write job 500 (their status and files: 1).
_BULK_COSTS = {"create_bulk_read": 50, "create_bulk_write": 500}


async def heavy_and_cost(request: web.Request) -> tuple[bool, int]:
    """Whether the call is in the "complex" sub-concurrency group, and its credit cost.

    Every call costs 1 credit except Get Records with cvid (3), COQL (1, 2 or 3 by its LIMIT), the record writes
    (1 per 10 records) and the creation of a Bulk Read job (50) or a Bulk Write job (500); Get Records with cvid
    or sort_by is heavy, and so are COQL and a record write of more than 10 records.
    """
    name = request.match_info.route.name
    bulk = _BULK_COSTS.get(name or "")
    if bulk is not None:
        return False, bulk
    if name == "coql":
        from ._fake_coql import coql_cost  # here: _fake_coql needs _fake_records, which needs this module

        return True, coql_cost(await request.read())
    if name in WRITE_ROUTES:
        return write_cost(await request.read())
    if name != "get_records":
        return False, 1
    query = request.query
    cvid = "cvid" in query
    return cvid or "sort_by" in query, 3 if cvid else 1


class Credits:
    """A rolling 24 h credit window: credits spent at T are freed at T + 24 h.

    Spends are kept in one-second buckets so memory stays bounded (at most 86,400 buckets) at any rate;
    a credit may therefore be freed up to a second early.
    """

    __slots__ = ("_clock", "_spent", "_used", "daily")

    def __init__(self, daily: int, clock: Callable[[], float]) -> None:
        self.daily = daily
        self._clock = clock
        self._spent: collections.deque[list[float]] = collections.deque()  # [bucket start, credits]
        self._used = 0

    def used(self) -> int:
        horizon = self._clock() - CREDIT_WINDOW
        spent = self._spent
        while spent and spent[0][0] <= horizon:
            self._used -= int(spent.popleft()[1])
        return self._used

    def can_spend(self, cost: int) -> bool:
        return self.used() + cost <= self.daily

    def spend(self, cost: int) -> None:
        now = self._clock()
        spent = self._spent
        if spent and now - spent[-1][0] < 1.0:
            spent[-1][1] += cost
        else:
            spent.append([now, cost])
        self._used += cost

    def remaining_header(self) -> str | None:
        """X-API-CREDITS-REMAINING, sent only once half the allowance is used."""
        used = self.used()
        if used * 2 < self.daily:
            return None
        return str(max(self.daily - used, 0))


class Concurrency:
    """Calls in flight, against the org's cap and the heavy ("complex" APIs) sub-concurrency cap."""

    __slots__ = ("cap", "heavy_cap", "heavy_in_flight", "in_flight")

    def __init__(self, cap: int, heavy_cap: int) -> None:
        self.cap = cap
        self.heavy_cap = heavy_cap
        self.in_flight = 0
        self.heavy_in_flight = 0

    def full(self, heavy: bool) -> bool:
        return self.in_flight >= self.cap or (heavy and self.heavy_in_flight >= self.heavy_cap)

    def enter(self, heavy: bool) -> int:
        """Count the call in; returns how many are now in flight."""
        self.in_flight += 1
        self.heavy_in_flight += heavy
        return self.in_flight

    def leave(self, heavy: bool) -> None:
        self.in_flight -= 1
        self.heavy_in_flight -= heavy
