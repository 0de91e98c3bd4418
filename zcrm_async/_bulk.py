"""Bulk results and chunks: what a bulk write gives back for each item, and the requests items are split into.

This module knows nothing of Zoho: what a response says about each item is read in ``_write_results``. The
requests are sent by ``_streaming`` (grouped within a ``_window.Window``); the list forms collect its stream.

The guarantees every bulk method gives:

- one ``ItemResult`` per input item: none missing, none twice (the list forms: in input order);
- a request-level failure of one chunk (a 400 with a top-level code, a 5xx or no response after retries) marks
  each item of that chunk failed with that cause, and the other chunks go on;
- results are placed by index, so aggregation is linear in the items however many chunks there are.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from ._errors import BulkError

__all__ = [
    "BulkResult",
    "Chunk",
    "ItemResult",
    "chunk",
    "chunk_joined",
    "group_chunks",
    "sequential_chunks",
]

T = TypeVar("T")

@dataclasses.dataclass(frozen=True, slots=True)
class ItemResult(Generic[T]):
    """The final outcome of one input item.

    Attributes:
        item: the input item, as given.
        code: Zoho's code (``SUCCESS``, ``ALREADY_LINKED``, ...) or the request-level cause
            (``INTERNAL_ERROR``, ``TOO_MANY_REQUESTS``, ``TRANSPORT_ERROR``, ...).
        status: ``"success"`` or ``"error"``.
        message: Zoho's message, or the cause's.
        details: Zoho's ``details``.
        attempts: requests it took (retries and verification included).
    """

    item: T
    code: str
    status: str
    message: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "success"


class BulkResult(Generic[T]):
    """One ``ItemResult`` per input item, in input order. Partial failure is a value, not an exception."""

    __slots__ = ("_counts", "results")

    def __init__(self, results: list[ItemResult[T]]) -> None:
        self.results = results
        self._counts: Counter[str] | None = None

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ItemResult[T]]:
        return iter(self.results)

    def __getitem__(self, index: int) -> ItemResult[T]:
        return self.results[index]

    def __repr__(self) -> str:
        counts = ", ".join(f"{code}={n}" for code, n in sorted(self.counts.items()))
        return f"<BulkResult {len(self.results)} items: {counts}>"

    @property
    def counts(self) -> Mapping[str, int]:
        """How many items ended with each code."""
        if self._counts is None:
            self._counts = Counter(result.code for result in self.results)
        return self._counts

    @property
    def succeeded(self) -> list[ItemResult[T]]:
        return [result for result in self.results if result.ok]

    @property
    def failed(self) -> list[ItemResult[T]]:
        return [result for result in self.results if not result.ok]

    @property
    def ok(self) -> bool:
        """True when every item succeeded."""
        return all(result.ok for result in self.results)

    def raise_for_failures(self) -> BulkResult[T]:
        """Raise ``BulkError`` listing the failed items, if any; return self otherwise."""
        failed = self.failed
        if failed:
            raise BulkError(failed, len(self.results))
        return self


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk(Generic[T]):
    """Items sent in one request, with their positions in the caller's input."""

    indexes: list[int]
    items: list[T]


def chunk(items: Sequence[T], size: int) -> list[list[T]]:
    """Split ``items`` into lists of at most ``size``, keeping order."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def chunk_joined(values: Sequence[str], *, max_count: int, max_chars: int, sep: str = ",") -> list[list[str]]:
    """Split ``values`` so each group has at most ``max_count`` values and joins to at most ``max_chars``.

    Groups split on whole values, for query parameters like ``message_ids=a,b,c``.
    """
    groups: list[list[str]] = []
    current: list[str] = []
    length = 0
    for value in values:
        if len(value) > max_chars:
            raise ValueError(f"{value[:20]}... alone is longer than {max_chars} characters")
        added = len(value) + (len(sep) if current else 0)
        if current and (len(current) >= max_count or length + added > max_chars):
            groups.append(current)
            current, length, added = [], 0, len(value)
        current.append(value)
        length += added
    if current:
        groups.append(current)
    return groups


def sequential_chunks(items: Sequence[T], size: int) -> list[Chunk[T]]:
    """Chunks of ``size`` consecutive items."""
    return [
        Chunk(list(range(start, min(start + size, len(items)))), list(items[start : start + size]))
        for start in range(0, len(items), size)
    ]


def group_chunks(items: Sequence[T], key: Callable[[T], Any], size: int) -> list[Chunk[T]]:
    """Group items by ``key`` (e.g. the contact: one endpoint per contact), then chunk each group by ``size``."""
    groups: dict[Any, list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault(key(item), []).append(index)
    return [
        Chunk(part, [items[i] for i in part]) for indexes in groups.values() for part in chunk(indexes, size)
    ]
