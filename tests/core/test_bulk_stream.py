"""stream_chunks: the streaming runner under every bulk write, with a sender function instead of HTTP.

What it promises: one result per item carrying its index and item; input read only as fast as requests go (a
bound on what is held, checked by counting what the input has given out); leaving early cancels every request in
flight; a sender's error is raised as itself; bad items are results, not exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio
import anyio.lowlevel
import pytest

from zcrm_async import AuthenticationError, ItemResult

# private on purpose: the streaming runner with a sender function instead of HTTP
from zcrm_async._streaming import run_all, stream_chunks
from zcrm_async._window import Window
from zcrm_async.outcomes import INVALID_ITEM

pytestmark = pytest.mark.anyio


def by_contact(capacity: int | None = 100, size: int = 20) -> Window[tuple[str, str]]:
    return Window(lambda item: item[0], size, capacity)


async def echo(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
    await anyio.lowlevel.checkpoint()
    return [ItemResult(item, "SUCCESS", "success") for item in items]


def emails(contacts: int, each: int) -> Iterator[tuple[str, str]]:
    for c in range(contacts):
        for m in range(each):
            yield (f"c{c}", f"m{c}x{m}")


async def test_every_item_comes_once_with_its_index_and_item() -> None:
    items = list(emails(30, 7))
    seen: dict[int, tuple[str, str]] = {}
    async with stream_chunks(iter(items), echo, by_contact(), concurrency=4) as results:
        async for index, result in results:
            assert index not in seen
            seen[index] = result.item
            assert result.ok
    assert seen == dict(enumerate(items))


async def test_an_async_iterable_is_read_like_any_other() -> None:
    async def produce() -> AsyncIterator[tuple[str, str]]:
        for item in emails(5, 30):
            await anyio.lowlevel.checkpoint()
            yield item

    async with stream_chunks(produce(), echo, by_contact(), concurrency=3) as results:
        indexes = sorted([index async for index, _ in results])
    assert indexes == list(range(150))


async def test_results_come_as_requests_complete_each_request_in_input_order() -> None:
    release = {"c0": anyio.Event(), "c1": anyio.Event()}

    async def send(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
        await release[items[0][0]].wait()
        return [ItemResult(item, "SUCCESS", "success") for item in items]

    order: list[int] = []
    async with stream_chunks(emails(2, 3), send, by_contact(), concurrency=2) as results:
        release["c1"].set()
        async for index, _ in results:
            order.append(index)
            release["c0"].set()
    assert order == [3, 4, 5, 0, 1, 2]  # c1's request finished first


async def test_input_is_read_only_as_fast_as_requests_go() -> None:
    """Nothing is consumed: the input must stop being read at the window plus what the workers hold."""
    given = 0

    def counted() -> Iterator[tuple[str, str]]:
        nonlocal given
        for item in emails(2000, 10):  # groups of 10 never fill: they leave only when the window makes room
            given += 1
            yield item

    started = anyio.Event()
    hold = anyio.Event()
    in_flight = 0

    async def stuck(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 4:
            started.set()
        await hold.wait()
        return [ItemResult(item, "SUCCESS", "success") for item in items]

    async with stream_chunks(counted(), stuck, by_contact(capacity=50), concurrency=4) as results:
        await started.wait()
        for _ in range(100):
            await anyio.lowlevel.checkpoint()  # every task has had its chance to run
        # 4 requests in flight (40), the window (50), the item being read: workers pull, nothing else is held.
        assert given <= 4 * 10 + 50 + 1
        hold.set()
        total = 0
        async for _ in results:
            total += 1
    assert total == given == 20_000


async def test_leaving_early_cancels_every_request_in_flight() -> None:
    hanging = cancelled = 0
    all_hanging = anyio.Event()

    async def slow(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
        nonlocal hanging, cancelled
        if items[0][0] == "c0":
            return await echo(items)
        hanging += 1
        if hanging == 5:
            all_hanging.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled += 1
            raise
        raise AssertionError("unreachable")

    with anyio.fail_after(5):
        async with stream_chunks(emails(100, 20), slow, by_contact(), concurrency=5) as results:
            async for _ in results:
                await all_hanging.wait()
                break
    assert cancelled == hanging == 5  # every worker's request, none left running


async def test_a_senders_error_is_raised_as_itself_and_stops_the_rest() -> None:
    sent = 0

    async def refused(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
        nonlocal sent
        sent += 1
        await anyio.lowlevel.checkpoint()
        raise AuthenticationError("invalid oauth token", status=401, code="INVALID_TOKEN")

    with pytest.raises(AuthenticationError):
        async with stream_chunks(emails(1000, 20), refused, by_contact(), concurrency=3) as results:
            async for _ in results:
                pass
    assert sent <= 3 + 1


async def test_an_error_from_the_input_is_raised_as_itself() -> None:
    def broken() -> Iterator[tuple[str, str]]:
        yield from emails(3, 3)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        async with stream_chunks(broken(), echo, by_contact(), concurrency=2) as results:
            async for _ in results:
                pass


async def test_a_bad_item_is_a_result_and_the_rest_go_on() -> None:
    def check(index: int, item: tuple[str, str]) -> tuple[str, str]:
        if not item[1].startswith("m"):
            raise ValueError(f"item {index}: message_id is bad")
        return item

    items = [("c1", "m1"), ("c1", "??"), ("c1", "m3")]
    async with stream_chunks(items, echo, by_contact(), concurrency=2, check=check) as results:
        got = {index: result async for index, result in results}
    assert got[1].code == INVALID_ITEM and got[1].attempts == 0 and "item 1: message_id" in got[1].message
    assert got[0].ok and got[2].ok


async def test_the_same_email_twice_while_the_first_is_pending_is_refused_after_it_completes_sent() -> None:
    sent: list[list[tuple[str, str]]] = []

    async def record(items: list[tuple[str, str]]) -> list[ItemResult[tuple[str, str]]]:
        sent.append(items)
        return await echo(items)

    # the repeat at 2 is still in the window with item 0; the one at 25 comes after c1's request completed
    items = [("c1", "m1"), ("c1", "m2"), ("c1", "m1"), *emails(1, 20), ("c1", "m1")]
    async with stream_chunks(
        items, record, by_contact(capacity=20), concurrency=1, pending_key=lambda item: item
    ) as results:
        got = {index: result async for index, result in results}
    assert got[2].code == INVALID_ITEM and "repeats item 0" in got[2].message
    assert [r.code for i, r in sorted(got.items()) if i != 2] == ["SUCCESS"] * (len(items) - 1)
    assert sum(batch.count(("c1", "m1")) for batch in sent) == 2


async def test_run_all_gives_input_order_and_reports_each_request() -> None:
    progress: list[int] = []
    items = list(emails(7, 25))[::-1]
    result = await run_all(
        items, echo, by_contact(capacity=None), concurrency=3, on_progress=lambda done: progress.append(len(done))
    )
    assert [r.item for r in result] == items
    assert sorted(progress) == sorted([20, 5] * 7)
