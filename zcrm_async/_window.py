"""Grouping a stream of items into requests while holding only a bounded window of them.

A bulk endpoint takes one group's items per request (one contact's emails, at most 20). A whole list can be
grouped at once; a stream of any size can only be grouped within what is held. ``Window`` holds at most
``capacity`` items, each in its key's open group:

- a group leaves as a request as soon as it is full: ``size`` items, or (for limits like the 2,000 characters
  of an unlink's ``message_ids``) when the next item's ``cost`` would take it over ``max_cost``;
- when the window is over capacity, the group touched longest ago leaves as it is, to make room;
- at the end of the input every open group leaves.

Input grouped or sorted by key gives the minimum number of requests, ceil(n / size) per key: the group touched
longest ago is always one whose items have all arrived. Unsorted input is grouped as far as the window reaches:
a key whose items lie further apart than the window is sent in more, smaller requests (one extra partial
request each time its group is made to leave); among the items held at any moment, each key has one open group,
so no request leaves that could have carried another's items. ``capacity=None`` holds everything: the minimum
for any order, in memory that grows with the input.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from ._bulk import Chunk

__all__ = ["Window"]

T = TypeVar("T")


class _Group(Generic[T]):
    __slots__ = ("cost", "indexes", "items")

    def __init__(self) -> None:
        self.indexes: list[int] = []
        self.items: list[T] = []
        self.cost = 0


class Window(Generic[T]):
    """Items in, requests (``Chunk``s, in ``ready``) out; see the module docstring for when a group leaves."""

    __slots__ = ("_cost", "_groups", "_held", "_key", "_max_cost", "_size", "capacity", "ready")

    def __init__(
        self,
        key: Callable[[T], Hashable],
        size: int,
        capacity: int | None,
        *,
        cost: Callable[[T], int] | None = None,
        max_cost: int = 0,
    ) -> None:
        if size < 1:
            raise ValueError("chunk size must be at least 1")
        if capacity is not None and capacity < size:
            raise ValueError(f"the window ({capacity} items) must hold at least one full request ({size})")
        self._key = key
        self._size = size
        self.capacity = capacity
        self._cost = cost
        self._max_cost = max_cost
        self._groups: OrderedDict[Hashable, _Group[T]] = OrderedDict()
        self._held = 0
        #: Requests ready to send, oldest first; the caller takes them after each ``add``.
        self.ready: deque[Chunk[T]] = deque()

    def __len__(self) -> int:
        """Items held in open groups (not counting ``ready``)."""
        return self._held

    def add(self, index: int, item: T) -> None:
        """Put ``item`` (at ``index`` in the input) in its group; full or evicted groups go to ``ready``."""
        key = self._key(item)
        group = self._groups.get(key)
        cost = self._cost(item) if self._cost is not None else 0
        if group is None:
            group = self._groups[key] = _Group()
        else:
            self._groups.move_to_end(key)
            if cost and group.cost + cost > self._max_cost:
                self._leave(key, group)
                group = self._groups[key] = _Group()
        group.indexes.append(index)
        group.items.append(item)
        group.cost += cost
        self._held += 1
        if len(group.items) >= self._size:
            self._leave(key, group)
        elif self.capacity is not None and self._held > self.capacity:
            oldest = next(iter(self._groups))
            self._leave(oldest, self._groups[oldest])

    def flush(self) -> None:
        """Every open group to ``ready``, the one touched longest ago first (the end of the input)."""
        for key, group in list(self._groups.items()):
            self._leave(key, group)

    def _leave(self, key: Hashable, group: _Group[T]) -> None:
        del self._groups[key]
        self._held -= len(group.items)
        self.ready.append(Chunk(group.indexes, group.items))
