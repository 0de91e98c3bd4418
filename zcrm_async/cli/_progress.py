"""Progress of a long run: a rich bar on a terminal, a plain line every couple of seconds otherwise, or nothing.

Figures come from a ``snapshot`` callable (the client's counters), so the bar shows credits and 429s as they
move, not only when items finish.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from ..plumbing import first_error
from ._output import Output

__all__ = ["Tracker", "track"]

#: Figures shown beside the count: e.g. {"credits": 12.0, "429s": 0}.
Snapshot = Callable[[], dict[str, float]]
PLAIN_EVERY = 2.0


class Tracker:
    """What a run reports progress to; ``advance`` is cheap and safe to call from any progress callback."""

    __slots__ = ("_announce", "done", "failed", "phase", "started", "total")

    def __init__(self, total: int | None, done: int = 0, failed: int = 0) -> None:
        self.total = total
        self.done = done
        self.failed = failed
        self.started = time.monotonic()
        #: What the run is doing when it is not sending (e.g. reading back items in flight); None: sending.
        self.phase: str | None = None
        self._announce: Callable[[str], None] | None = None

    def advance(self, items: int, failed: int = 0) -> None:
        self.done += items
        self.failed += failed

    @contextmanager
    def during(self, phase: str) -> Iterator[None]:
        """Name a phase in which no item is sent, so the bar says why it stands still (e.g. at 0/s)."""
        self.phase = phase
        if self._announce is not None:
            self._announce(phase)
        try:
            yield
        finally:
            self.phase = None

    def describe(self, snapshot: Snapshot, base: int) -> str:
        """One plain line: done/total, rate, ETA, and the snapshot's figures."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done - base) / elapsed
        parts = [f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"]
        parts.append(f"{rate:.0f}/s")
        if self.total is not None and rate > 0:
            parts.append(f"eta {max(self.total - self.done, 0) / rate:.0f}s")
        parts.append(f"failed {self.failed}")
        parts.extend(f"{name} {value:g}" for name, value in snapshot().items())
        return "  ".join(parts)


@asynccontextmanager
async def track(
    output: Output, label: str, total: int | None, snapshot: Snapshot, *, done: int = 0, failed: int = 0
) -> AsyncIterator[Tracker]:
    """Report progress while the block runs: rich bar on a TTY, plain lines otherwise, nothing with --quiet."""
    tracker = Tracker(total, done, failed)  # what is already done counts, failures (bad rows) included
    if output.quiet:
        yield tracker
    elif output.is_terminal:
        async with _rich(output, label, tracker, snapshot):
            yield tracker
    else:
        async with _plain(output, label, tracker, snapshot):
            yield tracker


@asynccontextmanager
async def _plain(output: Output, label: str, tracker: Tracker, snapshot: Snapshot) -> AsyncIterator[None]:
    base = tracker.done
    tracker._announce = lambda phase: output.line(f"{label}: {phase}")

    async def tick() -> None:
        while True:
            await anyio.sleep(PLAIN_EVERY)
            output.line(f"{label}: {tracker.phase or tracker.describe(snapshot, base)}")

    async with _ticking(tick):
        yield
    output.line(f"{label}: {tracker.describe(snapshot, base)} (finished)")


@asynccontextmanager
async def _rich(output: Output, label: str, tracker: Tracker, snapshot: Snapshot) -> AsyncIterator[None]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[figures]}"),
        TimeRemainingColumn(),
        console=output.err,  # progress is a diagnostic: stdout keeps only results
        transient=False,
    )
    base = tracker.done
    task = progress.add_task(label, total=tracker.total, completed=tracker.done, rate="", figures="")

    def refresh(task_id: TaskID) -> None:
        elapsed = max(time.monotonic() - tracker.started, 1e-6)
        figures = " ".join(f"{name} {value:g}" for name, value in snapshot().items())
        progress.update(
            task_id, description=tracker.phase or label, completed=tracker.done,
            rate=f"{(tracker.done - base) / elapsed:.0f}/s", figures=f"failed {tracker.failed} {figures}",
        )

    async def tick() -> None:
        while True:
            refresh(task)
            await anyio.sleep(0.1)

    with progress:
        async with _ticking(tick):
            yield
        refresh(task)


@asynccontextmanager
async def _ticking(tick: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run ``tick`` beside the block; the block's own exception comes out as itself, not in a group."""
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(tick)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise first_error(group) from None
