"""Window: grouping a stream into requests within a bounded window, and what that costs in requests."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

# private on purpose: Window, the grouping of items into requests, as a unit
from zcrm_async._bulk import Chunk
from zcrm_async._window import Window


def requests_for(keys: list[str], *, size: int = 20, capacity: int | None) -> list[Chunk[str]]:
    window: Window[str] = Window(lambda key: key, size, capacity)
    out: list[Chunk[str]] = []
    for index, key in enumerate(keys):
        window.add(index, key)
        out.extend(window.ready)
        window.ready.clear()
        assert capacity is None or len(window) <= capacity
    window.flush()
    out.extend(window.ready)
    return out


def minimum(keys: list[str], size: int = 20) -> int:
    return sum(math.ceil(n / size) for n in Counter(keys).values())


def sorted_keys(sizes: list[int]) -> list[str]:
    return [f"c{c}" for c, n in enumerate(sizes) for _ in range(n)]


def test_sorted_input_takes_the_minimum_however_small_the_window() -> None:
    sizes = [1 + (c * 7) % 45 for c in range(300)]  # 1..45 emails per contact
    keys = sorted_keys(sizes)
    for capacity in (20, 21, 100, None):
        chunks = requests_for(keys, capacity=capacity)
        assert len(chunks) == minimum(keys)
        assert all(len({*chunk.items}) == 1 for chunk in chunks)  # one contact a request
        assert sorted(i for chunk in chunks for i in chunk.indexes) == list(range(len(keys)))


def test_each_item_goes_once_with_its_index_and_a_request_keeps_input_order() -> None:
    keys = [random.Random(3).choice("abcdefgh") for _ in range(500)]
    chunks = requests_for(keys, size=7, capacity=30)
    for chunk in chunks:
        assert chunk.indexes == sorted(chunk.indexes)
        assert chunk.items == [keys[i] for i in chunk.indexes]
        assert len(chunk.items) <= 7
    assert sorted(i for chunk in chunks for i in chunk.indexes) == list(range(500))


def test_unsorted_input_within_the_window_still_takes_the_minimum() -> None:
    # 50 contacts, 10 emails each, shuffled: 500 items, all inside a 500-item window.
    keys = [f"c{c}" for c in range(50) for _ in range(10)]
    random.Random(7).shuffle(keys)
    assert len(requests_for(keys, capacity=500)) == minimum(keys) == 50


def test_unsorted_input_wider_than_the_window_costs_one_partial_request_per_eviction() -> None:
    # Round robin over 30 contacts, 20 emails each; a 20-item window holds 20 contacts' open groups at most, so
    # every add of a 21st contact evicts the group touched longest ago, with one item in it.
    keys = [f"c{c}" for _ in range(20) for c in range(30)]
    chunks = requests_for(keys, capacity=20)
    assert minimum(keys) == 30
    assert len(chunks) == len(keys)  # the worst case: every request carries one email
    # Everything in one window (or the list form) is back to the minimum.
    assert len(requests_for(keys, capacity=600)) == 30
    assert len(requests_for(keys, capacity=None)) == 30


def test_a_full_group_leaves_at_once_and_the_oldest_group_makes_room() -> None:
    window: Window[str] = Window(lambda key: key, 3, 4)
    for index, key in enumerate("aab"):
        window.add(index, key)
    assert not window.ready
    window.add(3, "a")  # a is full
    assert [c.indexes for c in window.ready] == [[0, 1, 3]]
    window.ready.clear()
    for index, key in enumerate("ccbd", start=4):  # held: b, c, c, b -> then d makes five
        window.add(index, key)
    # c was touched longest ago (b was touched again at 6), so c leaves to make room
    assert [(c.items, c.indexes) for c in window.ready] == [(["c", "c"], [4, 5])]
    window.ready.clear()
    window.flush()
    assert [c.items for c in window.ready] == [["b", "b"], ["d"]]


def test_a_cost_limit_closes_a_group_before_it_is_exceeded() -> None:
    # Unlink's message_ids: at most max_cost characters once joined (each id plus a comma).
    window: Window[str] = Window(lambda _: "contact", 20, None, cost=lambda mid: len(mid) + 1, max_cost=12)
    for index, message_id in enumerate(["aaaa", "bbbb", "cccc", "dd"]):
        window.add(index, message_id)
    window.flush()
    assert [c.items for c in window.ready] == [["aaaa", "bbbb"], ["cccc", "dd"]]


def test_a_window_must_hold_one_full_request() -> None:
    with pytest.raises(ValueError, match="at least one full request"):
        Window(lambda key: key, 20, 19)
    with pytest.raises(ValueError, match="at least 1"):
        Window(lambda key: key, 0, None)
