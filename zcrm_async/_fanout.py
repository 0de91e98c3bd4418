"""Bounded fan-out: run one async producer per key with a cap, stream what they yield through a bounded buffer.

Memory stays constant however many keys there are (the buffer is the only queue), and leaving the ``async with``
early (a ``break``, an exception, a cancellation) cancels every request still in flight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Stream", "fan_out", "first_error", "producing"]

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class Stream(Generic[T]):
    """An async iterator over a memory stream that takes what is buffered without a trip through the event loop.

    A plain ``async for`` over the stream yields to the loop on every item; for a million emails that is most of
    the client's CPU. Waiting happens only when the buffer is empty.
    """

    __slots__ = ("_receive",)

    def __init__(self, receive: MemoryObjectReceiveStream[T]) -> None:
        self._receive = receive

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return self._receive.receive_nowait()
        except anyio.WouldBlock:
            try:
                return await self._receive.receive()
            except anyio.EndOfStream:
                raise StopAsyncIteration from None
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The exception to raise for a task group's failure: its first error, not the group.

    Callers of the library catch ``InvalidRequestError``, not an ``ExceptionGroup`` around it. When several tasks
    failed at once, the first error is raised and the others are named in its notes. A group holding anything
    but ``Exception``s (KeyboardInterrupt, SystemExit) is raised as it is.
    """
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                collect(inner)
        else:
            leaves.append(exc)

    collect(group)
    if not leaves or not all(isinstance(leaf, Exception) for leaf in leaves):
        return group
    first = leaves[0]
    for other in leaves[1:]:
        first.add_note(f"also failed at the same time: {type(other).__name__}: {other}")
    return first


@asynccontextmanager
async def fan_out(
    keys: Iterable[K],
    produce: Callable[[K], AsyncIterator[V]],
    *,
    concurrency: int,
    buffer: int,
) -> AsyncIterator[Stream[tuple[K, V]]]:
    """Stream ``(key, value)`` for every value ``produce(key)`` yields, with at most ``concurrency`` keys at once.

    Each key's producer runs sequentially (a cursor chain stays in order); keys run side by side.
    """
    if concurrency < 1 or buffer < 0:
        raise ValueError("concurrency must be at least 1 and buffer not negative")
    send, receive = anyio.create_memory_object_stream[tuple[K, V]](buffer)
    pending = iter(keys)

    async def worker(out: MemoryObjectSendStream[tuple[K, V]]) -> None:
        async with out:
            for key in pending:  # shared iterator: each key is taken by exactly one worker
                async for value in produce(key):
                    try:
                        try:
                            out.send_nowait((key, value))  # no event-loop round trip while there is room
                        except anyio.WouldBlock:
                            await out.send((key, value))
                    except anyio.BrokenResourceError:
                        return  # the consumer left; the cancellation that follows stops the rest

    async def run_workers() -> None:
        async with send, anyio.create_task_group() as workers:
            for _ in range(concurrency):
                workers.start_soon(worker, send.clone())

    async with producing(run_workers, receive):
        yield Stream(receive)


@asynccontextmanager
async def producing(
    work: Callable[[], Coroutine[Any, Any, None]], receive: MemoryObjectReceiveStream[Any]
) -> AsyncIterator[None]:
    """Run ``work`` (which feeds ``receive``) while the caller reads; leaving stops it and raises its first error.

    Leaving early (a ``break``, an exception, a cancellation) cancels ``work`` first, then closes ``receive``, so
    producers stop as cancelled, not as broken pipes; a failure of ``work`` is raised as itself, not as a group.
    """
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(work)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                receive.close()
    except BaseExceptionGroup as group:
        raise first_error(group) from None
