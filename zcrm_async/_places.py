"""Places in flight: a first-come, first-served queue whose freed places go straight to the next call in line.

What ``AdaptiveConcurrency`` counts with, in place of ``anyio.CapacityLimiter``. At the cap, with calls queued,
each answer's work between its arrival and the next request leaving is time that place sits idle, and 20 answers
land together on one loop: measured there (figure 2 of ``benchmarks/``, cProfile of 3,000 reads), anyio's limiter
and the shielded checkpoint of the hand-off cost about a tenth of the client's CPU per request: an exception
(``WouldBlock``) and a cancel-scope check to queue, an ``Event`` per waiter, a statistics tuple to see whether
anyone queues, and a ``CancelScope`` built, entered and left for every hand-off. Here a waiter is one future.

Guarantees (``tests/core/test_places.py``):

- never more than ``limit`` places taken; a newcomer never overtakes a queued call (it queues behind it);
- a freed place is handed to the oldest waiter at once (counted as taken from that moment), so nobody can slip
  in between; a waiter cancelled after it was handed a place gives it on, one cancelled before leaves the queue;
- lowering the limit takes places back only as they are freed; raising it hands the new places out at once.

Asyncio futures rather than anyio's primitives: the client's transport is aiohttp, which runs on asyncio only,
and anyio's cancel scopes cancel a task waiting on a future the same way they cancel any other wait.
"""

from __future__ import annotations

import asyncio
import types
from collections import deque
from collections.abc import Generator
from typing import Any

__all__ = ["Places", "step_aside"]


class Places:
    """``limit`` places, taken and freed by count (the caller keeps track of what it holds)."""

    __slots__ = ("_limit", "_taken", "_waiters")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._taken = 0
        #: Calls waiting for a place, oldest first; a future is done once it was handed one (or cancelled).
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        self._limit = value
        self._hand_on()

    @property
    def taken(self) -> int:
        """Places held now, including those handed to waiters that have not run yet."""
        return self._taken

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def take(self) -> None:
        """Take a place, waiting in line when none is free or others wait already."""
        waiter = self.join()
        if waiter is None:
            return  # no await: a free place costs no trip through the event loop
        try:
            await waiter
        except BaseException:
            self.leave(waiter)
            raise

    def join(self) -> asyncio.Future[None] | None:
        """``take`` in two steps, for a caller that awaits the future in its own frame: None when a free place was
        taken now, else a future in the line, done once a place was handed to it. A caller that stops waiting
        (cancelled) must ``leave`` with it."""
        if self._taken < self._limit and not self._waiters:
            self._taken += 1
            return None
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    def leave(self, waiter: asyncio.Future[None]) -> None:
        """A waiter gives up: a place it was handed just as it was cancelled goes to the next in line."""
        if waiter.done() and not waiter.cancelled():
            self.free()
        elif waiter in self._waiters:  # a freed place may have passed over it (and dropped it) already
            self._waiters.remove(waiter)

    def free(self) -> bool:
        """Give a place back; whether it went straight to a waiting call."""
        self._taken -= 1
        return self._hand_on()

    def _hand_on(self) -> bool:
        handed = False
        waiters = self._waiters
        while waiters and self._taken < self._limit:
            waiter = waiters.popleft()
            if waiter.done():
                continue  # cancelled while queued, and not yet out of the queue
            waiter.set_result(None)
            self._taken += 1
            handed = True
        return handed


async def step_aside(passes: int = 1) -> None:
    """Let the tasks scheduled now run first, for ``passes`` passes of the loop, without being a place to cancel.

    The hand-off's yield: the call that was just handed a place leaves before this one decodes its answer. The
    task waits on a future that is already done, so the loop wakes it on its next pass, and anyio's cancel scopes,
    which do not cancel a task whose wait is over, deliver a cancellation at its next checkpoint instead: the
    answer in hand is not lost (what ``anyio.lowlevel.cancel_shielded_checkpoint`` does, at a fifth of the cost:
    no ``CancelScope`` to build, enter and leave).
    """
    loop = asyncio.get_running_loop()
    for _ in range(passes):
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        await _wait_on(done)


@types.coroutine
def _wait_on(future: asyncio.Future[None]) -> Generator[Any, None, None]:
    # ``await future`` returns at once when it is done; yielding it as a blocking future (the protocol
    # ``Future.__await__`` itself follows) makes the task wait on it, and the loop wake it on its next pass.
    future._asyncio_future_blocking = True
    yield future
