"""Waiting for a Bulk job: its status read with growing pauses, or woken by the caller's callback.

Each status read is one API call on the budget (credits and a slot in flight), so the pauses grow from
``initial`` by ``factor`` up to ``maximum``: a job of seconds is seen within seconds, a job of an hour costs a few
dozen calls, not thousands. When the caller gave Zoho a callback URL, Zoho posts to it when the job ends; the
caller's handler tells ``JobNotices`` and the wait reads the status at once, while a read every ``fallback`` seconds
covers a callback that never comes. The wait has no timeout of its own: bound it with ``anyio.fail_after``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

__all__ = ["JobNotices", "Poll", "wait_for"]

J = TypeVar("J")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Poll:
    """How often a Bulk job's status is read, in seconds.

    Attributes:
        initial: the first pause (after the job is created).
        factor: each pause is the last one times this.
        maximum: the longest pause.
        fallback: with a callback (``wake``), the pause between reads that only guard against a lost callback.
    """

    initial: float = 2.0
    factor: float = 1.5
    maximum: float = 60.0
    fallback: float = 300.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < self.initial or self.factor < 1 or self.fallback < 0:
            raise ValueError("Poll needs 0 <= initial <= maximum, factor >= 1 and fallback >= 0")


class JobNotices:
    """Zoho's callbacks, as the caller's own HTTP handler receives them: ``notify(job_id)`` for each, and the
    waits for that job read its status at once. Notices may come before the wait starts."""

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events: dict[str, anyio.Event] = {}

    def notify(self, job_id: str) -> None:
        """A callback for ``job_id`` came (its body's ``job_id``, or ``id`` for Bulk Write)."""
        self.event(str(job_id)).set()

    def event(self, job_id: str) -> anyio.Event:
        """The event set when ``job_id``'s callback comes."""
        event = self._events.get(job_id)
        if event is None:
            event = self._events[job_id] = anyio.Event()
        return event


async def wait_for(
    read: Callable[[], Awaitable[J]],
    done: Callable[[J], bool],
    *,
    poll: Poll,
    sleep: Callable[[float], Awaitable[None]],
    wake: anyio.Event | None = None,
) -> J:
    """Read the job until ``done(job)``; returns the last job read."""
    pause = poll.initial
    while True:
        if wake is not None and not wake.is_set():
            await _pause(poll.fallback, sleep, wake)
        else:  # no callback, or it came and the job was not done yet: back to growing pauses
            await sleep(pause)
        job = await read()
        if done(job):
            return job
        pause = min(pause * poll.factor, poll.maximum)


async def _pause(seconds: float, sleep: Callable[[float], Awaitable[None]], wake: anyio.Event) -> None:
    """Sleep ``seconds`` or until ``wake`` is set, whichever comes first."""
    async with anyio.create_task_group() as group:

        async def then_cancel(waiting: Callable[[], Awaitable[None]]) -> None:
            await waiting()
            group.cancel_scope.cancel()

        group.start_soon(then_cancel, lambda: sleep(seconds))
        group.start_soon(then_cancel, wake.wait)
