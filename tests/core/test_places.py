"""Places in flight: first come first served, freed places handed straight on, cancellation that keeps the count."""

from __future__ import annotations

import asyncio

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

# private on purpose: Places and step_aside, the queue under the budget's calls in flight, as units
from zcrm_async._places import Places, step_aside

pytestmark = pytest.mark.anyio


async def settle(steps: int = 5) -> None:
    for _ in range(steps):
        await anyio.lowlevel.checkpoint()


async def test_calls_get_their_places_in_the_order_they_asked() -> None:
    places = Places(1)
    order: list[int] = []
    await places.take()

    async def call(i: int) -> None:
        await places.take()
        order.append(i)
        await settle()
        places.free()

    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(call, i)
            await settle(1)  # each queues before the next starts
        assert places.queued == 6
        places.free()
    assert order == [0, 1, 2, 3, 4, 5]
    assert places.taken == 0 and places.queued == 0


async def test_a_newcomer_queues_behind_a_waiter_even_when_a_place_is_free() -> None:
    places = Places(1)
    await places.take()
    order: list[str] = []

    async def waiter() -> None:
        await places.take()
        order.append("waiter")
        places.free()

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await settle(1)
        places.free()  # handed to the waiter at once: it counts as taken before it runs
        assert places.taken == 1
        await places.take()  # the newcomer cannot slip in between
        order.append("newcomer")
        places.free()
    assert order == ["waiter", "newcomer"]


async def test_never_more_than_the_limit_and_a_lowered_limit_takes_places_back_as_they_are_freed() -> None:
    places = Places(6)
    now = peak = 0

    async def call() -> None:
        nonlocal now, peak
        await places.take()
        now += 1
        peak = max(peak, now)
        await settle(3)
        now -= 1
        places.free()

    async with anyio.create_task_group() as tg:
        for _ in range(60):
            tg.start_soon(call)
        await settle(1)
        assert places.taken == 6
        places.limit = 2
        assert places.taken == 6  # nobody is thrown out
        await settle(4)
        peak = 0
        assert places.taken == 2
    assert peak == 2
    assert places.taken == 0


async def test_a_raised_limit_hands_the_new_places_out_at_once() -> None:
    places = Places(1)
    await places.take()
    entered = 0

    async def call() -> None:
        nonlocal entered
        await places.take()
        entered += 1

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
        await settle(1)
        places.limit = 3
        assert places.taken == 3 and places.queued == 1
        await settle(1)
        assert entered == 2
        places.free()
    assert entered == 3 and places.taken == 3


async def test_a_waiter_cancelled_in_the_queue_leaves_it() -> None:
    places = Places(1)
    await places.take()
    with anyio.move_on_after(0.01) as scope:
        await places.take()
    assert scope.cancelled_caught
    assert places.queued == 0 and places.taken == 1
    places.free()
    await places.take()  # the place is free for the next, not held by the cancelled waiter
    assert places.taken == 1


async def test_a_waiter_cancelled_after_it_was_handed_a_place_gives_it_to_the_next() -> None:
    # anyio's scopes do not cancel a task whose wait is over; a plain asyncio cancel does, and the place it was
    # handed must not be lost with it.
    places = Places(1)
    await places.take()
    got: list[str] = []

    async def first() -> None:
        await places.take()
        got.append("first")  # never: cancelled before it ran

    async def second() -> None:
        await places.take()
        got.append("second")
        places.free()

    with anyio.fail_after(5):
        waiting = asyncio.ensure_future(first())  # a bare task on purpose: the case is asyncio's own cancel
        async with anyio.create_task_group() as tg:
            await settle(1)
            tg.start_soon(second)
            await settle(1)
            assert places.queued == 2
            places.free()  # handed to the first waiter...
            waiting.cancel()  # ...which is cancelled before it runs: the second gets the place
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert got == ["second"]
    assert places.taken == 0 and places.queued == 0


async def test_step_aside_lets_scheduled_tasks_run_first() -> None:
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await step_aside()
        order.append("after step_aside")
    assert order == ["other", "after step_aside"]


async def test_a_cancel_scope_cancelled_at_step_aside_is_delivered_at_the_next_checkpoint() -> None:
    # The hand-off's step is not a place to cancel: the answer in hand is kept, and the cancellation comes at the
    # next checkpoint, as with anyio's cancel_shielded_checkpoint.
    reached: list[str] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        await step_aside()
        reached.append("past step_aside")
        await anyio.lowlevel.checkpoint()
        reached.append("past the checkpoint")  # never
    assert reached == ["past step_aside"]
    assert scope.cancelled_caught


async def test_a_cancel_from_another_task_while_stepping_aside_keeps_the_answer() -> None:
    reached: list[str] = []
    scope = anyio.CancelScope()

    async def canceller() -> None:
        scope.cancel()

    async def releaser(tg: anyio.abc.TaskGroup) -> None:
        with scope:
            tg.start_soon(canceller)  # runs while this task steps aside
            await step_aside()
            reached.append("answer kept")
            await anyio.lowlevel.checkpoint()
            reached.append("never")

    async with anyio.create_task_group() as tg:
        tg.start_soon(releaser, tg)
    assert reached == ["answer kept"]
    assert scope.cancelled_caught


async def test_a_plain_checkpoint_in_its_place_would_lose_the_answer() -> None:
    # The same race with an ordinary checkpoint: the cancellation lands there (what step_aside must not do).
    reached: list[str] = []
    scope = anyio.CancelScope()

    async def canceller() -> None:
        scope.cancel()

    async def releaser(tg: anyio.abc.TaskGroup) -> None:
        with scope:
            tg.start_soon(canceller)
            await anyio.lowlevel.checkpoint()
            reached.append("answer kept")

    async with anyio.create_task_group() as tg:
        tg.start_soon(releaser, tg)
    assert reached == []
    assert scope.cancelled_caught


async def test_waiters_cancelled_while_places_are_freed_leave_with_their_cancellation() -> None:
    # A task group torn down with calls queued: every waiter's future is cancelled, then the calls in flight
    # free their places, and the hand-off drops the cancelled futures it passes over before their tasks run.
    # Each task must still end with its cancellation (not a ValueError from a queue it already left).
    places = Places(2)
    in_flight = asyncio.Event()

    async def call() -> None:
        await places.take()
        try:
            await in_flight.wait()
        finally:
            places.free()

    tasks = [asyncio.ensure_future(call()) for _ in range(10)]
    await settle(1)
    assert places.taken == 2 and places.queued == 8
    for task in tasks:  # all at once, as a task group does: the two holding places run first and free them
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    assert places.taken == 0 and places.queued == 0
