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
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from ._errors import BulkError
from .outcomes import is_transient

__all__ = [
    "BulkResult",
    "Chunk",
    "ItemResult",
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

    @property
    def transient(self) -> bool:
        """A failure worth trying again later (no answer, 429, 5xx, unreadable, unverified); False when final."""
        return not self.ok and is_transient(self.code, self.details)


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
