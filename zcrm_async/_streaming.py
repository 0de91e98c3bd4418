"""Bulk writes, streamed: items in from any iterable, each item's result out as its request completes.

``concurrency`` workers each take the next request from the input (``_Source``: read, check and group items in a
``Window`` until a request is ready; one worker at a time), send it, and deliver its results. The streaming forms
deliver into a bounded memory stream that the caller reads as ``(index, ItemResult)`` pairs (``BulkStream``): a
slow caller stops the workers, and stopped workers stop the reading of the input, so memory holds the window, one
request per worker and ``concurrency`` requests' results waiting for the caller, however long the input is.
Leaving the ``async with`` early (a ``break``, an exception, a cancellation) cancels every request in flight, as
``iterate_many`` does. The list forms (``BulkResult``) run the same workers and place each result at its index.

Workers pull requests rather than being handed them, so a request costs no task switch beyond its own send: the
per-request path stays as cheap as a plain worker pool's.

A bad item (a wrong type, a bad id) is not an exception in a stream: it comes out as an ``INVALID_ITEM`` result
with no request sent, and the rest go on. The list forms check every item before the first request instead, so
bad input still sends nothing there.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Hashable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from ._bulk import BulkResult, Chunk, ItemResult
from ._fanout import Stream, first_error, producing
from ._window import Window
from .outcomes import INVALID_ITEM

__all__ = ["DEFAULT_WINDOW", "BulkStream", "materialize", "run_all", "stream_chunks"]

T = TypeVar("T")

#: Items a streaming form holds while grouping them into requests (about a megabyte of links).
DEFAULT_WINDOW = 2_000

Sender = Callable[[list[T]], Awaitable[list[ItemResult[T]]]]
#: ``check(index, item)``: the item as it will be sent, or an exception (``ValueError``, ``TypeError``) saying why not.
Checker = Callable[[int, T], T]
#: One request's outcome: the input indexes of its items and their results, in the same order.
Done = tuple[list[int], list[ItemResult[T]]]
Deliver = Callable[[Done[T]], Awaitable[None]]


class BulkStream(Generic[T]):
    """``(index, result)`` for every input item: ``index`` its position in the input, ``result.item`` the item.

    Results come in the order requests complete, not in input order; the items of one request come together, in
    input order. An item refused before sending comes out as soon as it is read (code ``INVALID_ITEM``).
    """

    __slots__ = ("_done", "_indexes", "_position", "_results")

    def __init__(self, receive: MemoryObjectReceiveStream[Done[T]]) -> None:
        self._done = Stream(receive)  # one request's results at a time, without a loop trip while any are buffered
        self._indexes: list[int] = []
        self._results: list[ItemResult[T]] = []
        self._position = 0

    def __aiter__(self) -> BulkStream[T]:
        return self

    async def __anext__(self) -> tuple[int, ItemResult[T]]:
        position = self._position
        while position >= len(self._results):
            self._indexes, self._results = await self._done.__anext__()
            position = 0
        self._position = position + 1
        return self._indexes[position], self._results[position]


class _Source(Generic[T]):
    """The input, read by whichever worker needs the next request: items are checked, refused ones delivered at
    once, and the rest grouped in the window until a request is ready."""

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        window: Window[T],
        deliver: Deliver[T],
        check: Checker[T] | None,
        pending_key: Callable[[T], Hashable] | None,
    ) -> None:
        self._async: AsyncIterator[T] | None = aiter(items) if isinstance(items, AsyncIterable) else None
        self._sync: Iterator[T] = iter(items) if not isinstance(items, AsyncIterable) else iter(())
        self._window = window
        self._deliver = deliver
        self._check = check
        self._pending_key = pending_key
        #: Keys of the items held or in flight, with the index of each: a repeat of one is refused.
        self._pending: dict[Hashable, int] = {}
        self._index = 0
        self._ended = False
        self._lock = anyio.Lock(fast_acquire=True)  # uncontended, taking it costs no trip through the event loop

    async def next_request(self) -> Chunk[T] | None:
        """The next request to send, or None when the input is done."""
        ready = self._window.ready
        async with self._lock:
            while not ready and not self._ended:
                try:
                    item = next(self._sync) if self._async is None else await anext(self._async)
                except (StopIteration, StopAsyncIteration):
                    self._ended = True
                    self._window.flush()
                    break
                refused = self._take(self._index, item)
                self._index += 1
                if refused is not None:
                    await self._deliver(refused)
            return ready.popleft() if ready else None

    def done(self, chunk: Chunk[T]) -> None:
        """A request's items have their results: repeats of them may be sent again."""
        if self._pending_key is not None:
            for item in chunk.items:
                del self._pending[self._pending_key(item)]

    def _take(self, index: int, item: T) -> Done[T] | None:
        """Check and hold one item; what to report at once if it is refused."""
        if self._check is not None:
            try:
                item = self._check(index, item)
            except (ValueError, TypeError) as exc:
                return _refused(index, item, exc)
        if self._pending_key is not None:
            first = self._pending.setdefault(self._pending_key(item), index)
            if first != index:
                why = f"item {index}: repeats item {first}, the same email, which is still being sent"
                return _refused(index, item, ValueError(why))
        self._window.add(index, item)
        return None


def _refused(index: int, item: T, exc: Exception) -> Done[T]:
    return [index], [ItemResult(item, INVALID_ITEM, "error", str(exc), {}, 0)]


async def _run_workers(source: _Source[T], send: Sender[T], deliver: Deliver[T], concurrency: int) -> None:
    """Send every request of ``source``, ``concurrency`` at a time, delivering each one's results.

    An exception from ``send`` (only causes that would fail every request, like refused credentials) or from the
    input cancels the rest and is raised as itself: the first one, even when several workers fail at once.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")

    async def work() -> None:
        while (chunk := await source.next_request()) is not None:
            results = await send(chunk.items)
            if len(results) != len(chunk.indexes):
                raise RuntimeError("a chunk sender returned the wrong number of results")
            source.done(chunk)
            await deliver((chunk.indexes, results))

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(work)
    except BaseExceptionGroup as group:
        raise first_error(group) from None


@asynccontextmanager
async def stream_chunks(
    items: Iterable[T] | AsyncIterable[T],
    send: Sender[T],
    window: Window[T],
    *,
    concurrency: int,
    check: Checker[T] | None = None,
    pending_key: Callable[[T], Hashable] | None = None,
) -> AsyncIterator[BulkStream[T]]:
    """Send ``items`` grouped by ``window``, ``concurrency`` requests at a time; stream each item's result.

    ``send(items)`` returns one result per item, in order; an exception from it or from the input cancels
    everything and is raised from the ``async with``. ``check(index, item)`` refuses an item as INVALID_ITEM by
    raising ``ValueError`` or ``TypeError``. ``pending_key(item)`` names what must not be sent twice at once (an
    email): an item whose key is still held or in flight is refused as INVALID_ITEM, since two writes of one
    email racing would leave whichever Zoho applied last. A repeat after the first has completed is sent, and
    Zoho answers it.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    done_send, done_receive = anyio.create_memory_object_stream[Done[T]](concurrency)

    async def deliver(done: Done[T]) -> None:
        try:
            done_send.send_nowait(done)  # no event-loop round trip while there is room
        except anyio.WouldBlock:
            await done_send.send(done)

    async def run() -> None:
        with done_send:  # closed when every request is delivered: the reader's loop ends
            await _run_workers(_Source(items, window, deliver, check, pending_key), send, deliver, concurrency)

    async with producing(run, done_receive):
        yield BulkStream(done_receive)


async def run_all(
    items: list[T],
    send: Sender[T],
    window: Window[T],
    *,
    concurrency: int,
    on_progress: Callable[[list[ItemResult[T]]], None] | None = None,
) -> BulkResult[T]:
    """Every item's result in input order (the list forms: ``items`` already checked as a whole); the same
    workers as a stream, each placing its request's results by index. ``on_progress`` sees each request's."""
    slots: list[ItemResult[T] | None] = [None] * len(items)

    async def place(done: Done[T]) -> None:
        indexes, results = done
        for index, result in zip(indexes, results, strict=True):
            if slots[index] is not None:
                raise RuntimeError(f"item {index} got two results")
            slots[index] = result
        if on_progress is not None:
            on_progress(results)

    await _run_workers(_Source(items, window, place, None, None), send, place, concurrency)
    missing = [index for index, slot in enumerate(slots) if slot is None]
    if missing:
        raise RuntimeError(f"items without a result: {missing[:10]}")
    return BulkResult([slot for slot in slots if slot is not None])


async def materialize(items: Iterable[T] | AsyncIterable[T]) -> list[T]:
    """Every item, for the list forms (they hold every result anyway)."""
    if isinstance(items, AsyncIterable):
        return [item async for item in items]
    return list(items)
