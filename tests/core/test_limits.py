"""The budget: adaptive calls in flight, the heavy sub-cap, and the credit bucket."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from zcrm_async import Budget, LocalLimiter, Permit

# private on purpose: AdaptiveConcurrency, the limiter's window as a unit; CreditBucket.try_spend, the send
# path's no-wait spend, against aiolimiter's own state
from zcrm_async._limits import AdaptiveConcurrency, CreditBucket

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def succeed(limiter: AdaptiveConcurrency, times: int) -> None:
    for _ in range(times):
        limiter.on_success()


async def test_a_429_shrinks_the_limit_once_per_generation() -> None:
    limiter = AdaptiveConcurrency(20, decrease=0.5, clock=Clock())
    permits = [Permit(0, 20) for _ in range(5)]  # five calls of one overshoot all answered 429

    for permit in permits:
        limiter.on_throttled(permit)

    assert limiter.limit == 10  # halved once, not five times


async def test_a_429_of_the_new_generation_shrinks_again() -> None:
    limiter = AdaptiveConcurrency(20, decrease=0.5, clock=Clock())
    limiter.on_throttled(Permit(0, 20))
    async with limiter.slot() as permit:
        assert permit.generation == 1
        assert permit.in_flight_at_start == 1
    limiter.on_throttled(Permit(permit.generation, 10))
    assert limiter.limit == 5
    limiter.on_throttled(permit)  # of the generation that was just answered: no second decrease
    assert limiter.limit == 5
    for _ in range(10):
        limiter.on_throttled(Permit(0, 1))
    assert limiter.limit >= 1  # never below one


async def test_successes_grow_the_limit_by_one_per_round_up_to_the_ceiling() -> None:
    clock = Clock()
    limiter = AdaptiveConcurrency(16, decrease=0.5, probe_after=60.0, clock=clock)
    limiter.on_throttled(Permit(0, 16))  # the call that filled 16 was refused: ceiling 15, limit 8
    assert limiter.limit == 8

    succeed(limiter, 7)
    assert limiter.limit == 8  # not yet a full round
    succeed(limiter, 1)
    assert limiter.limit == 9
    for expected in (10, 11, 12, 13, 14, 15):
        succeed(limiter, limiter.limit)
        assert limiter.limit == expected
    succeed(limiter, 15 * 10)
    assert limiter.limit == 15  # the ceiling holds while the last 429 is recent


async def test_a_429_below_the_limit_shrinks_it_but_keeps_the_ceiling() -> None:
    limiter = AdaptiveConcurrency(20, decrease=0.5, clock=Clock())
    limiter.on_throttled(Permit(0, 1))  # a stray 429 with one call in flight: a burst, not the server's cap
    assert limiter.limit == 10
    for _ in range(20):
        succeed(limiter, limiter.limit)
    assert limiter.limit == 20  # back to the configured cap without waiting for a probe


async def test_the_ceiling_is_probed_after_a_quiet_while() -> None:
    clock = Clock()
    limiter = AdaptiveConcurrency(20, decrease=0.5, probe_after=60.0, clock=clock)
    for _ in range(10):
        succeed(limiter, 20)
    limiter.on_throttled(Permit(0, 20))  # 20 was too many: ceiling 19
    for _ in range(12):
        succeed(limiter, limiter.limit)
    assert limiter.limit == 19

    clock.now += 59.0
    succeed(limiter, 19)
    assert limiter.limit == 19
    clock.now += 1.0
    succeed(limiter, 19)
    assert limiter.limit == 20  # past the level that last failed, one step
    for _ in range(20):
        succeed(limiter, limiter.limit)
    assert limiter.limit == 20  # never past the configured maximum


async def test_a_429_for_spent_credits_leaves_concurrency_alone() -> None:
    limiter = LocalLimiter(Budget(concurrency=10, daily_credits=100))
    async with limiter.slot(heavy=False) as permit:
        pass
    limiter.on_response(permit, throttled=True, credits_remaining=0)
    assert limiter.concurrency == 10
    assert limiter.credits_available < 0.01  # empty, bar what leaked back since
    with anyio.move_on_after(0.01) as scope:
        await limiter.acquire_credits(1)  # waits for credits to come back
    assert scope.cancelled_caught


async def test_in_flight_is_capped_at_the_adapted_limit() -> None:
    limiter = AdaptiveConcurrency(8, decrease=0.5, clock=Clock())
    limiter.on_throttled(Permit(0, 8))
    assert limiter.limit == 4
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(call)
    assert peak == 4
    assert limiter.in_flight == 0


async def test_local_limiter_never_exceeds_concurrency() -> None:
    limiter = LocalLimiter(Budget(concurrency=5))
    peak = 0

    async def call() -> None:
        nonlocal peak
        async with limiter.slot(heavy=False):
            peak = max(peak, limiter.in_flight)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(call)
    assert peak == 5
    assert limiter.in_flight == 0


async def test_heavy_calls_take_a_normal_slot_and_a_heavy_one() -> None:
    limiter = LocalLimiter(Budget(concurrency=3, heavy_concurrency=1))
    async with limiter.slot(heavy=True):
        assert limiter.in_flight == 1
        with anyio.move_on_after(0.01) as scope:
            async with limiter.slot(heavy=True):
                pytest.fail("a second heavy call got in past a heavy cap of 1")
        assert scope.cancelled_caught
        async with limiter.slot(heavy=False), limiter.slot(heavy=False):
            assert limiter.in_flight == 3
            with anyio.move_on_after(0.01) as scope:
                async with limiter.slot(heavy=False):
                    pytest.fail("a fourth call got in past a cap of 3")
            assert scope.cancelled_caught
    assert limiter.in_flight == 0
    async with limiter.slot(heavy=True):  # the heavy slot was given back
        pass


async def test_a_heavy_call_cancelled_while_it_queues_for_a_place_gives_its_heavy_place_back() -> None:
    limiter = LocalLimiter(Budget(concurrency=1, heavy_concurrency=1))
    scope = anyio.CancelScope()

    async def heavy_call() -> None:
        with scope:
            async with limiter.slot(heavy=True):
                pytest.fail("got a place that a normal call holds")

    with anyio.fail_after(5):
        async with limiter.slot(heavy=False), anyio.create_task_group() as tg:
            tg.start_soon(heavy_call)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()  # it holds the heavy place and queues for the normal one
            scope.cancel()
        assert scope.cancelled_caught
        assert limiter.in_flight == 0
        async with limiter.slot(heavy=True):  # the heavy place came back: a cap of one lets this one in
            assert limiter.in_flight == 1


async def test_heavy_calls_in_flight_never_exceed_the_heavy_cap() -> None:
    limiter = LocalLimiter(Budget(concurrency=10, heavy_concurrency=2))
    heavy_now = heavy_peak = total_peak = 0

    async def call(heavy: bool) -> None:
        nonlocal heavy_now, heavy_peak, total_peak
        async with limiter.slot(heavy=heavy):
            heavy_now += heavy
            heavy_peak = max(heavy_peak, heavy_now)
            total_peak = max(total_peak, limiter.in_flight)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            heavy_now -= heavy

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(call, i % 3 == 0)
    assert heavy_peak == 2
    assert total_peak == 10


async def test_on_response_feeds_429s_to_the_concurrency() -> None:
    limiter = LocalLimiter(Budget(concurrency=20))
    async with limiter.slot(heavy=False) as permit:
        pass
    limiter.on_response(Permit(permit.generation, 20), throttled=True, credits_remaining=None)
    assert limiter.concurrency == 15  # the default decrease, 0.75


async def test_credit_bucket_admits_daily_credits_then_blocks() -> None:
    limiter = LocalLimiter(Budget(daily_credits=5))
    for _ in range(5):
        await limiter.acquire_credits(1)
    assert limiter.credits_available == pytest.approx(0.0, abs=0.01)
    with anyio.move_on_after(0.01) as scope:
        await limiter.acquire_credits(1)
    assert scope.cancelled_caught  # the sixth credit of the day waits (no timing is asserted)


async def test_weighted_calls_spend_their_weight() -> None:
    limiter = LocalLimiter(Budget(daily_credits=100))
    await limiter.acquire_credits(60)
    assert limiter.credits_available == pytest.approx(40, abs=0.01)
    with anyio.move_on_after(0.01) as scope:
        await limiter.acquire_credits(50)
    assert scope.cancelled_caught
    await limiter.acquire_credits(40)


async def test_credits_header_resyncs_the_bucket() -> None:
    limiter = LocalLimiter(Budget(daily_credits=50_000))
    permit = Permit(0, 1)

    limiter.on_response(permit, throttled=False, credits_remaining=1_234)
    assert limiter.credits_available == pytest.approx(1_234, abs=1)

    limiter.on_response(permit, throttled=False, credits_remaining=40_000)  # Zoho knows best, up or down
    assert limiter.credits_available == pytest.approx(40_000, abs=1)

    limiter.on_response(permit, throttled=False, credits_remaining=10**9)  # never above the day's credits
    assert limiter.credits_available == pytest.approx(50_000, abs=1)

    limiter.on_response(permit, throttled=False, credits_remaining=0)
    with anyio.move_on_after(0.01) as scope:
        await limiter.acquire_credits(1)
    assert scope.cancelled_caught


async def _hand_off_order(queued: bool) -> list[str]:
    limiter = LocalLimiter(Budget(concurrency=1, daily_credits=10**6))
    order: list[str] = []
    entered = anyio.Event()

    async def first() -> None:
        async with limiter.slot(heavy=False):
            order.append("first in")
            entered.set()
            for _ in range(5):  # the second call queues meanwhile
                await anyio.lowlevel.checkpoint()
        order.append("first goes on")

    async def second() -> None:
        await entered.wait()
        async with limiter.slot(heavy=False):
            order.append("second in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        if queued:
            tg.start_soon(second)
    return order


async def test_a_released_place_lets_the_queued_call_go_out_before_the_releaser_goes_on() -> None:
    # The releaser's own work after the slot (decoding its answer) waits for the queued call to leave.
    assert await _hand_off_order(queued=True) == ["first in", "second in", "first goes on"]
    assert await _hand_off_order(queued=False) == ["first in", "first goes on"]  # nobody queued: no extra step


async def test_answers_that_land_together_let_every_queued_call_out_before_any_goes_on() -> None:
    # Two calls answered in the same pass of the loop, two queued: both queued calls leave before either
    # releaser does its own work (decoding), not successor, releaser, successor, releaser.
    limiter = LocalLimiter(Budget(concurrency=2, daily_credits=10**6))
    order: list[str] = []
    answered = anyio.Event()
    both_in = anyio.Event()

    async def holder(name: str) -> None:
        async with limiter.slot(heavy=False):
            if limiter.in_flight == 2:
                both_in.set()
            await answered.wait()  # both wake in the same pass
        order.append(f"{name} goes on")

    async def queued(name: str) -> None:
        async with limiter.slot(heavy=False):
            order.append(f"{name} in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(holder, "first")
        tg.start_soon(holder, "second")
        await both_in.wait()
        tg.start_soon(queued, "third")
        tg.start_soon(queued, "fourth")
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        answered.set()
    assert order == ["third in", "fourth in", "first goes on", "second goes on"]


async def test_the_no_wait_spend_refuses_an_empty_bucket_and_spends_nothing() -> None:
    bucket = CreditBucket(5, 86_400)
    assert all([bucket.try_spend(1) for _ in range(5)])
    assert not bucket.try_spend(1)  # the sixth credit: the caller must queue through acquire
    assert not bucket.try_spend(6)  # more than the bucket holds: acquire's ValueError, not a silent spend
    assert bucket.available == pytest.approx(0.0, abs=0.01)


async def test_the_no_wait_spend_leaves_a_queued_waiter_to_aiolimiter() -> None:
    bucket = CreditBucket(100, 86_400)
    await bucket.acquire(60)
    async with anyio.create_task_group() as tg:
        tg.start_soon(bucket.acquire, 50)  # 40 left: it queues
        for _ in range(100):
            if bucket._waiters:
                break
            await anyio.lowlevel.checkpoint()
        assert bucket._waiters
        assert not bucket.try_spend(10)  # room for it, but someone waits: aiolimiter decides, not the fast path
        assert bucket.available == pytest.approx(40, abs=0.01)
        tg.cancel_scope.cancel()
