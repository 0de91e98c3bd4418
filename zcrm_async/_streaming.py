"""Streaming bulk writes: items in from any iterable, each item's result out as its request completes.

One task reads the input, checks each item and groups it (``Window``); ``concurrency`` workers send the
requests; the caller reads ``(index, ItemResult)`` pairs from a ``BulkStream``. Every hand-over is a bounded
memory stream, so a slow caller slows the workers, and slow workers slow the reading of the input: memory holds
the window, one request per worker, and ``concurrency`` requests' results waiting for the caller, however long
the input is. Leaving the ``async with`` early (a ``break``, an exception, a cancellation) cancels every request
in flight, as ``iterate_many`` does.

A bad item (a wrong type, a bad id) is not an exception here: it comes out as an ``INVALID_ITEM`` result with no
request sent, and the rest go on. The list forms (``BulkResult``) are this stream collected; they check every
item before the first request instead, so bad input still sends nothing there.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Hashable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._bulk import BulkResult, Chunk, ItemResult
from ._fanout import first_error
from ._window import Window

__all__ = ["DEFAULT_WINDOW", "INVALID_ITEM", "BulkStream", "collect", "materialize", "stream_chunks"]

T = TypeVar("T")

#: Items a streaming form holds while grouping them into requests (about a megabyte of links).
DEFAULT_WINDOW = 2_000

#: An input item refused before any request (bad id, wrong type, an email already pending in the stream).
INVALID_ITEM = "INVALID_ITEM"

Sender = Callable[[list[T]], Awaitable[list[ItemResult[T]]]]
#: ``check(index, item)``: the item as it will be sent, or an exception (``ValueError``, ``TypeError``) saying why not.
Checker = Callable[[int, T], T]
#: One request's outcome: the input indexes of its items and their results, in the same order.
Done = tuple[list[int], list[ItemResult[T]]]


class BulkStream(Generic[T]):
    """``(index, result)`` for every input item: ``index`` its position in the input, ``result.item`` the item.

    Results come in the order requests complete, not in input order; the items of one request come together, in
    input order. An item refused before sending comes out as soon as it is read (code ``INVALID_ITEM``).
    """

    __slots__ = ("_indexes", "_position", "_receive", "_results")

    def __init__(self, receive: MemoryObjectReceiveStream[Done[T]]) -> None:
        self._receive = receive
        self._indexes: list[int] = []
        self._results: list[ItemResult[T]] = []
        self._position = 0

    def __aiter__(self) -> BulkStream[T]:
        return self

    async def __anext__(self) -> tuple[int, ItemResult[T]]:
        position = self._position
        while position >= len(self._results):
            self._indexes, self._results = await self._next_request()
            position = 0
        self._position = position + 1
        return self._indexes[position], self._results[position]

    async def _requests(self) -> AsyncIterator[Done[T]]:
        """What is left, a request at a time (the list forms collect this)."""
        if self._position < len(self._results):
            yield self._indexes[self._position :], self._results[self._position :]
            self._position = len(self._results)
        while True:
            try:
                yield await self._next_request()
            except StopAsyncIteration:
                return

    async def _next_request(self) -> Done[T]:
        # Take what is buffered without a trip through the event loop; wait only when nothing is.
        try:
            return self._receive.receive_nowait()
        except anyio.WouldBlock:
            try:
                return await self._receive.receive()
            except anyio.EndOfStream:
                raise StopAsyncIteration from None
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


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

    ``send(items)`` returns one result per item, in order; an exception from it (only causes that would fail
    every request, like refused credentials) or from the input cancels everything and is raised from the
    ``async with``. ``pending_key(item)`` names what must not be sent twice at once (an email): an item whose key
    is still held or in flight is refused as INVALID_ITEM, since two writes of one email racing would leave
    whichever Zoho applied last. A repeat after the first has completed is sent, and Zoho answers it.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    chunk_send, chunk_receive = anyio.create_memory_object_stream[Chunk[T]](0)
    done_send, done_receive = anyio.create_memory_object_stream[Done[T]](concurrency)
    pending: dict[Hashable, int] = {}

    def refuse(index: int, item: T, exc: Exception) -> Done[T]:
        return [index], [ItemResult(item, INVALID_ITEM, "error", str(exc), {}, 0)]

    def take(index: int, item: T) -> Done[T] | None:
        """Check and hold one item; what to report at once if it is refused."""
        if check is not None:
            try:
                item = check(index, item)
            except (ValueError, TypeError) as exc:
                return refuse(index, item, exc)
        if pending_key is not None:
            key = pending_key(item)
            first = pending.setdefault(key, index)
            if first != index:
                why = ValueError(f"item {index}: repeats item {first}, the same email, which is still being sent")
                return refuse(index, item, why)
        window.add(index, item)
        return None

    async def hand_over(out: MemoryObjectSendStream[Chunk[T]]) -> None:
        while window.ready:
            await _put(out, window.ready.popleft())

    async def feed(out: MemoryObjectSendStream[Chunk[T]], done: MemoryObjectSendStream[Done[T]]) -> None:
        async with out, done:
            index = 0
            if isinstance(items, AsyncIterable):
                async for item in items:
                    refused = take(index, item)
                    index += 1
                    if refused is not None:
                        await _put(done, refused)
                    if window.ready:
                        await hand_over(out)
            else:
                for item in items:
                    refused = take(index, item)
                    index += 1
                    if refused is not None:
                        await _put(done, refused)
                    if window.ready:
                        await hand_over(out)
            window.flush()
            await hand_over(out)

    async def work(chunks: MemoryObjectReceiveStream[Chunk[T]], done: MemoryObjectSendStream[Done[T]]) -> None:
        async with done, chunks:
            async for chunk in chunks:
                results = await send(chunk.items)
                if len(results) != len(chunk.indexes):
                    raise RuntimeError("a chunk sender returned the wrong number of results")
                if pending_key is not None:
                    for item in chunk.items:
                        del pending[pending_key(item)]
                await _put(done, (chunk.indexes, results))

    async def run() -> None:
        async with anyio.create_task_group() as tasks:
            # Each task holds its own end; the originals close now, so each stream ends when its last holder does.
            with done_send, chunk_receive:
                tasks.start_soon(feed, chunk_send, done_send.clone())
                for _ in range(concurrency):
                    tasks.start_soon(work, chunk_receive.clone(), done_send.clone())

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            try:
                yield BulkStream(done_receive)
            finally:
                # Cancel first, then close: requests stop as cancelled, not as broken pipes.
                tg.cancel_scope.cancel()
                done_receive.close()
    except BaseExceptionGroup as group:
        raise first_error(group) from None


async def _put(out: MemoryObjectSendStream[T], value: T) -> None:
    try:
        out.send_nowait(value)  # no event-loop round trip while there is room
    except anyio.WouldBlock:
        await out.send(value)


async def collect(
    stream: AbstractAsyncContextManager[BulkStream[T]],
    total: int,
    on_progress: Callable[[list[ItemResult[T]]], None] | None = None,
) -> BulkResult[T]:
    """The whole stream as a ``BulkResult`` in input order; ``on_progress`` sees each request's results."""
    slots: list[ItemResult[T] | None] = [None] * total
    async with stream as results:
        async for indexes, done in results._requests():
            for index, result in zip(indexes, done, strict=True):
                if slots[index] is not None:
                    raise RuntimeError(f"item {index} got two results")
                slots[index] = result
            if on_progress is not None:
                on_progress(done)
    missing = [index for index, slot in enumerate(slots) if slot is None]
    if missing:
        raise RuntimeError(f"items without a result: {missing[:10]}")
    return BulkResult([slot for slot in slots if slot is not None])


async def materialize(items: Iterable[T] | AsyncIterable[T]) -> list[T]:
    """Every item, for the list forms (they hold every result anyway)."""
    if isinstance(items, AsyncIterable):
        return [item async for item in items]
    return list(items)
