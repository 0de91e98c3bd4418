"""The budget on the send path: credits per rolling 24 h, and calls in flight.

Zoho enforces two different things (Zoho CRM API Limits: credits per rolling 24 h, and concurrency per org and
app), so two different tools enforce them here:

- calls in flight: a first-come, first-served queue of places (``_places.Places``, plus one of 10 for heavy
  calls). A cap that matches the server's is what reaches its ceiling with no 429 (against a server with a cap of
  25 and 100 ms calls, a semaphore of 25 got no 429s where a rate limiter sized to the same throughput got
  hundreds); a rate limiter is the wrong tool for it. Its size adapts: a 429 shrinks it multiplicatively and
  successes grow it back by one per round of calls (AIMD), so a server whose real cap is lower than configured is
  found in a few round trips.
- credits: an ``aiolimiter`` bucket of ``daily_credits`` leaking over 24 h, acquired with each call's weight and
  resynchronised from ``X-API-CREDITS-REMAINING`` whenever Zoho sends it.

``Limiter`` is the protocol the client calls; ``LocalLimiter`` keeps the budget in this process and
``zcrm_async.redis.RedisLimiter`` shares it between processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from aiolimiter import AsyncLimiter

from ._config import Budget
from ._places import Places, step_aside

__all__ = [
    "AdaptiveConcurrency", "CreditBucket", "CreditGauge", "Limiter", "LocalLimiter", "Permit", "credits_available",
]  # fmt: skip

DAY = 86_400.0


class Permit:
    """One call's place in flight; handed back to ``Limiter.on_response`` with what the server said."""

    __slots__ = ("generation", "in_flight_at_start")

    def __init__(self, generation: int, in_flight_at_start: int) -> None:
        #: The concurrency generation the call started in: 429s of one overshoot shrink the limit only once.
        self.generation = generation
        #: Calls in flight, this one included, when it started: the level a 429 shows to be too high.
        self.in_flight_at_start = in_flight_at_start


class Limiter(Protocol):
    """What the client's send path needs from a budget."""

    async def acquire_credits(self, amount: float) -> None:
        """Wait until ``amount`` credits may be spent, and spend them."""

    def slot(self, *, heavy: bool) -> AbstractAsyncContextManager[Permit]:
        """Hold a place among the calls in flight (and the heavy sub-cap) while the request runs."""

    def on_response(self, permit: Permit, *, throttled: bool, credits_remaining: int | None) -> None:
        """Feed back what the server answered: a 429, and the credits it says remain."""

    @property
    def concurrency(self) -> int:
        """Calls in flight allowed right now (adapted after 429s)."""

    async def aclose(self) -> None:
        """Release what the limiter holds outside this process (nothing for a local one)."""


@runtime_checkable
class CreditGauge(Protocol):
    """A limiter that knows the credits it can spend now (``LocalLimiter``; a shared Redis budget does not say).

    Optional beside ``Limiter``: a long run asks it whether one more call can be paid for before it waits hours.
    """

    @property
    def credits_available(self) -> float:
        """Credits that may be spent now without waiting."""


def credits_available(limiter: Limiter) -> float | None:
    """The credits ``limiter`` can spend now, or None when it does not say (it is no ``CreditGauge``)."""
    return limiter.credits_available if isinstance(limiter, CreditGauge) else None


class CreditBucket(AsyncLimiter):
    """aiolimiter's leaky bucket of credits, which Zoho's own count can correct.

    The bucket holds a day's credits and leaks them back over 24 h, an approximation of Zoho's rolling window that
    errs by at most what leaked between two ``X-API-CREDITS-REMAINING`` headers once Zoho starts sending them
    (after half the credits are used).
    """

    __slots__ = ()

    def resync(self, remaining: float) -> None:
        """Believe the server: only ``remaining`` credits are left now."""
        # aiolimiter keeps its level in ``_level``; leak first so the time of this reading is the reference.
        self._leak()
        self._level = min(self.max_rate, max(0.0, self.max_rate - remaining))

    def try_spend(self, amount: float) -> bool:
        """Spend ``amount`` now if the bucket has room and nobody waits; False (nothing spent) otherwise, and the
        caller queues through ``acquire``. What ``acquire`` does when it would not wait, without its coroutine,
        its loop lookups and its wake-up pass: each is paid on every request (figure 1 of ``benchmarks/``). With
        a waiter queued it declines, so the bucket's waiters keep their order."""
        if self._waiters or self._waker_handle is not None or not 0 <= amount <= self.max_rate:
            return False
        self._leak()
        if self._level + amount > self.max_rate:
            return False
        self._level += amount
        return True

    @property
    def available(self) -> float:
        """Credits that could be spent now."""
        self._leak()
        return self.max_rate - self._level


class AdaptiveConcurrency:
    """Places in flight whose number follows the server: multiplicative decrease, additive increase.

    Args:
        maximum: the configured cap; the limit never grows past it.
        decrease: factor applied on a 429 (once per generation of calls).
        probe_after: seconds without a 429 after which the limit may grow past the level that last failed.
        clock: a monotonic clock (injectable for tests).
    """

    __slots__ = (
        "_ceiling",
        "_clock",
        "_decrease",
        "_generation",
        "_last_throttle",
        "_maximum",
        "_places",
        "_probe_after",
        "_successes",
    )

    def __init__(
        self,
        maximum: int,
        *,
        decrease: float = 0.75,
        probe_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._maximum = maximum
        self._places = Places(maximum)
        self._decrease = decrease
        self._probe_after = probe_after
        self._clock = clock
        #: The highest limit not yet shown to be too high.
        self._ceiling = maximum
        self._generation = 0
        self._successes = 0
        self._last_throttle = -math.inf

    @property
    def limit(self) -> int:
        return self._places.limit

    @property
    def in_flight(self) -> int:
        return self._places.taken

    def slot(self) -> AbstractAsyncContextManager[Permit]:
        """Hold one place in flight for the block."""
        return _Slot(self, None)

    @property
    def places(self) -> Places:
        """The queue the limit is enforced with; take one of its places, then ask for ``permit()``."""
        return self._places

    def permit(self) -> Permit:
        """The permit of a call that has just taken a place."""
        return Permit(self._generation, self._places.taken)

    def release(self) -> bool:
        """Give the place back; whether a queued call was handed it."""
        return self._places.free()

    def on_throttled(self, permit: Permit) -> None:
        self._last_throttle = self._clock()
        if permit.in_flight_at_start >= self.limit:
            # The call that filled the window was refused: that many is too many for the server. A 429 of a call
            # below the limit says less (a burst, another client of the org), so it shrinks the limit below but
            # leaves the ceiling alone: a stray 429 at 1 in flight must not pin the client to 1 for good.
            self._ceiling = max(1, min(self._ceiling, permit.in_flight_at_start - 1))
        if permit.generation != self._generation:
            return  # this overshoot was already answered by an earlier decrease
        self._generation += 1
        self._successes = 0
        self._set_limit(min(self._ceiling, math.floor(self.limit * self._decrease)))

    def on_success(self) -> None:
        self._successes += 1
        if self._successes < self.limit:
            return  # grow by one per round of calls, not per call
        self._successes = 0
        if self.limit >= self._ceiling and self._clock() - self._last_throttle >= self._probe_after:
            self._ceiling = min(self._maximum, self._ceiling + 1)
        self._set_limit(min(self._ceiling, self.limit + 1))

    def _set_limit(self, value: int) -> None:
        value = max(1, min(self._maximum, value))
        if value != self.limit:
            self._places.limit = value


class _Slot:
    """One call's place in flight (and in the heavy sub-cap) for one ``async with``. A plain class rather than
    ``@asynccontextmanager``: it runs on every request, and a generator-based context manager costs several
    microseconds more. It keeps no state between entry and exit, so one instance may be entered by any number of
    calls at once, and one task may hold several places at once."""

    __slots__ = ("_heavy", "_normal")

    def __init__(self, normal: AdaptiveConcurrency, heavy: Places | None) -> None:
        self._normal = normal
        self._heavy = heavy

    async def __aenter__(self) -> Permit:
        # The queue's future awaited here, not through Places.take or a method of AdaptiveConcurrency: a queued
        # call holds every coroutine of its path, and 3,000 of them wait at once at the cap (figure 2 of
        # ``benchmarks/``), each one a tracked object that brings the next full collection closer.
        normal, heavy = self._normal, self._heavy
        if heavy is not None:
            await heavy.take()
        places = normal.places
        waiter = places.join()
        if waiter is not None:
            try:
                await waiter
            except BaseException:
                places.leave(waiter)
                if heavy is not None:
                    heavy.free()
                raise
        return normal.permit()

    async def __aexit__(self, *exc_info: object) -> None:
        handed_on = self._normal.release()
        if self._heavy is not None:
            handed_on = self._heavy.free() or handed_on
        if handed_on:
            # Let the call that was handed the place leave first, then decode this one's answer: with calls
            # queued, every answer's work done before the next request goes out is time its place sits idle
            # (at the cap, 20 answers land together and their work adds up before the 20th place is used again).
            # Two passes: the answers that land together release in one pass, each waking its successor and then
            # stepping aside behind it, so the next pass runs successor, releaser, successor, releaser...; the
            # second step puts every releaser's decoding behind every successor's request, not only its own.
            # Not a place to cancel: this call's answer is in hand and must not be lost here.
            await step_aside(passes=2)


class LocalLimiter:
    """The budget of one process: adaptive calls in flight, a heavy sub-cap, and a credit bucket."""

    __slots__ = ("_credits", "_heavy", "_heavy_slot", "_normal", "_normal_slot")

    def __init__(self, budget: Budget, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._normal = AdaptiveConcurrency(budget.concurrency, clock=clock)
        self._heavy = Places(budget.heavy_concurrency)
        self._credits = CreditBucket(budget.daily_credits, DAY)
        # A _Slot keeps no state of its own (each entry takes its places, each exit frees them), so one of each
        # kind serves every call: nothing to build, and nothing more held by each call queued at the cap.
        self._normal_slot = _Slot(self._normal, None)
        self._heavy_slot = _Slot(self._normal, self._heavy)

    @property
    def concurrency(self) -> int:
        return self._normal.limit

    @property
    def in_flight(self) -> int:
        return self._normal.in_flight

    @property
    def credits_available(self) -> float:
        return self._credits.available

    async def acquire_credits(self, amount: float) -> None:
        if not self._credits.try_spend(amount):
            await self._credits.acquire(amount)

    def slot(self, *, heavy: bool) -> AbstractAsyncContextManager[Permit]:
        return self._heavy_slot if heavy else self._normal_slot

    def on_response(self, permit: Permit, *, throttled: bool, credits_remaining: int | None) -> None:
        if throttled and credits_remaining is not None and credits_remaining <= 0:
            pass  # out of credits, not of concurrency: the resync below empties the bucket, and calls wait there
        elif throttled:
            self._normal.on_throttled(permit)
        else:
            self._normal.on_success()
        if credits_remaining is not None:
            self._credits.resync(credits_remaining)

    async def aclose(self) -> None:
        return None
