"""Why a backfill stops before its rows are done, as one object: ``Stop``, with one ``StopReason``.

A run stops cleanly (rows never taken stay pending, rows whose requests were out stay in flight and are read back
by the next run, outcomes recorded stay) for one of four reasons, the first one to happen winning:

- ``CREDITS``: the day's API credits are spent: Zoho said none remain, or the budget cannot pay for one more call
  of the op's main kind (calls would wait hours for credits to return; Zoho counts them over a rolling 24 h).
- ``REDIS``: Redis (the shared budget or token store) kept a request from being sent: every row left would fail
  the same way. ``detail`` is the library's message for the first such row.
- ``UNREACHABLE``: the API answered nothing for ``unreachable_after`` seconds while requests failed or waited
  (``ReachWatch``).
- ``REQUESTED``: the caller asked (``stop.request()``), e.g. a service shutting down.

``watch`` polls the client for the first and third while the run sends (the budget and the counters have no
event for "empty" or "nothing answered", and a check is a few attribute reads); the runner reports the second;
the runner waits on ``stopped`` and cancels its sending at once.
"""

from __future__ import annotations

import datetime
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from .._limits import credits_available
from ._reach import UNREACHABLE_AFTER, ReachWatch

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["CHECK_EVERY", "Stop", "StopReason", "out_of_credits"]

#: How often the budget and the counters are looked at while a run sends.
CHECK_EVERY = 0.2


class StopReason(enum.Enum):
    """Why a run stopped before its rows were done (see the module docstring)."""

    CREDITS = "credits"
    REDIS = "redis"
    UNREACHABLE = "unreachable"
    REQUESTED = "requested"


def out_of_credits(crm: ZohoCRM, main_call: str) -> bool:
    """Zoho said no credits remain, or the client's budget cannot pay for one more ``main_call``."""
    if crm.counters.credits_remaining == 0:
        return True
    available = credits_available(crm.limiter)  # None: a shared (Redis) budget does not say
    return available is not None and available < crm.budget.cost_of(main_call)


class Stop:
    """The one way a run stops early: the first ``request`` wins, says why, and wakes the runner.

    Attributes:
        reason: why the run stopped (None: it has not).
        detail: the cause in the library's words, where there is one (Redis's).
        unreachable_after: the seconds without an answer that stop a run (``UNREACHABLE``).
        started: when the run began (credits spent since then come back 24 h later).
    """

    __slots__ = ("_clock", "_event", "detail", "reason", "started", "unreachable_after")

    def __init__(self, *, unreachable_after: float = UNREACHABLE_AFTER, clock: Callable[[], float] = time.monotonic):
        if not 1 <= unreachable_after <= 86_400:  # NaN too
            raise ValueError("unreachable_after must be between 1 and 86400 seconds")
        self.unreachable_after = unreachable_after
        self.reason: StopReason | None = None
        self.detail: str | None = None
        self.started = datetime.datetime.now(datetime.UTC)
        self._clock = clock
        self._event: anyio.Event | None = None

    @property
    def stopped(self) -> bool:
        return self.reason is not None

    def request(self, reason: StopReason = StopReason.REQUESTED, detail: str | None = None) -> None:
        """Stop the run (no new batch is taken; the requests out are cancelled); a later reason changes nothing."""
        if self.reason is None:
            self.reason, self.detail = reason, detail
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        """Return once the run is to stop."""
        if self._event is None:
            self._event = anyio.Event()
        if self.reason is not None:
            return
        await self._event.wait()

    async def watch(self, crm: ZohoCRM, main_call: str) -> None:
        """Poll the client while the run sends; ``request`` the stop once credits are spent or the API is gone."""
        reach = ReachWatch(crm, patience=self.unreachable_after, clock=self._clock)
        reach.start()
        while not self.stopped:
            if out_of_credits(crm, main_call):
                self.request(StopReason.CREDITS)
            elif reach.check():
                self.request(StopReason.UNREACHABLE)
            else:
                await anyio.sleep(CHECK_EVERY)
