"""Bulk writes: split items into requests, send them concurrently, zip per-item results back onto the inputs.

The guarantees every bulk method gives:

- one ``ItemResult`` per input item, in input order: none missing, none twice;
- a request-level failure of one chunk (a 400 with a top-level code, a 5xx or no response after retries) marks
  each item of that chunk failed with that cause, and the other chunks go on;
- results are placed by index, so aggregation is linear in the items however many chunks there are.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import anyio
import msgspec

from ._errors import AuthenticationError, BulkError, TransportError, error_from_response
from ._transport import Response
from .models import ItemStatus, decode_item_statuses

__all__ = [
    "BulkResult",
    "Chunk",
    "ItemResult",
    "chunk",
    "chunk_joined",
    "group_chunks",
    "run_chunks",
    "sequential_chunks",
]

T = TypeVar("T")

SUCCESS = "SUCCESS"
#: An item the response did not account for, or a 2xx whose per-item results could not be read: its fate is
#: unknown, so writes read it back before reporting it.
NO_RESULT = "NO_RESULT"
UNREADABLE = "UNREADABLE_RESULT"


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


def failed(
    item: T, code: str, message: str, attempts: int = 1, details: Mapping[str, Any] | None = None
) -> ItemResult[T]:
    """An error outcome that did not come from a per-item status."""
    return ItemResult(item, code, "error", message, details or {}, attempts)


def results_from_response(
    items: Sequence[T],
    response: Response,
    *,
    key: Callable[[T], str | None] | None = None,
) -> list[ItemResult[T]]:
    """Per-item results of one write response, in the order of ``items``.

    Reads 200, 207 and 400 with the array flat or nested; a top-level error (any status) or an unreadable body
    fails every item with that cause. ``key(item)`` gives the ``details.message_id`` Zoho echoes, so results
    still land on the right items if Zoho answers in another order; without a usable key, order is trusted.

    Raises:
        AuthenticationError: the request was refused for its credentials: every other chunk would be too.
    """
    attempts = response.attempts
    if response.status >= 500 or response.status in (204, 401, 403, 404, 429):
        return _fail_all(items, response)
    try:
        statuses = decode_item_statuses(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        if response.status < 300:  # accepted, but what happened to each item cannot be read: read back
            return [failed(item, UNREADABLE, "Zoho's per-item results could not be read", attempts) for item in items]
        return _fail_all(items, response)
    if response.status < 300 and statuses and all(not status.code for status in statuses):
        # The single-message link echoes the input on success (the doc's sample), with no code at all.
        return [ItemResult(item, SUCCESS, "success", "", {}, attempts) for item in items]
    ordered = _match(items, statuses, key)
    return [
        ItemResult(item, status.code or "UNKNOWN", _status_of(status), status.message or "", status.details or {},
                   attempts)
        if status is not None
        else failed(item, NO_RESULT, "Zoho returned no result for this item", attempts)
        for item, status in zip(items, ordered, strict=True)
    ]


def _status_of(status: ItemStatus) -> str:
    if status.status in ("success", "error"):
        return status.status
    return "success" if status.code == SUCCESS else "error"


_JSON_PATH_INDEX = re.compile(r"^\$\.\w+\[(\d+)\]")


def _match(
    items: Sequence[T], statuses: list[ItemStatus], key: Callable[[T], str | None] | None
) -> list[ItemStatus | None]:
    """Each item's status. A status that names its item (``details.message_id``, or the index in
    ``details.json_path`` such as ``$.Emails[2].owner``) goes to that item; the rest fill the remaining items in
    order only when their numbers agree, else those items get none (NO_RESULT) rather than another's result."""
    placed: list[ItemStatus | None] = [None] * len(items)
    positions: dict[str | None, list[int]] = {}
    if key is not None:
        for index, item in enumerate(items):
            positions.setdefault(key(item), []).append(index)
    unnamed: list[ItemStatus] = []
    for status in statuses:
        named = _named_index(status, positions, len(items))
        if named is None or placed[named] is not None:
            unnamed.append(status)
        else:
            placed[named] = status
    free = [index for index, status in enumerate(placed) if status is None]
    if len(unnamed) == len(free):
        for index, status in zip(free, unnamed, strict=True):
            placed[index] = status
    return placed


def _named_index(status: ItemStatus, positions: dict[str | None, list[int]], count: int) -> int | None:
    details = status.details or {}
    message_id = details.get("message_id")
    if isinstance(message_id, str) and positions.get(message_id):
        return positions[message_id].pop(0)
    path = details.get("json_path")
    if isinstance(path, str) and (found := _JSON_PATH_INDEX.match(path)):
        index = int(found.group(1))
        return index if index < count else None
    return None


def _fail_all(items: Sequence[T], response: Response) -> list[ItemResult[T]]:
    if response.status == 204:
        return [failed(item, "NO_CONTENT", "Zoho answered 204 with no results", response.attempts) for item in items]
    error = error_from_response(response.status, response.content)
    if isinstance(error, AuthenticationError):
        raise error
    # The HTTP status travels in details: whether a failure may pass (429, 5xx) is the status's to say, not the
    # code's, which is whatever the body held (an HTML 429 gives HTTP_429, a 503 its own code).
    details = {**error.details, "http_status": response.status}
    return [failed(item, error.code, error.message, response.attempts, details) for item in items]


def fail_transport(items: Sequence[T], exc: TransportError) -> list[ItemResult[T]]:
    """Every item of a chunk that got no response after all retries."""
    return [failed(item, "TRANSPORT_ERROR", str(exc)) for item in items]


async def run_chunks(
    chunks: Sequence[Chunk[T]],
    send: Callable[[list[T]], Awaitable[list[ItemResult[T]]]],
    total: int,
    *,
    concurrency: int,
    on_chunk_done: Callable[[list[ItemResult[T]]], None] | None = None,
) -> BulkResult[T]:
    """Send every chunk with ``concurrency`` workers and place each result at its input position.

    ``send(items)`` returns one result per item of the chunk, in order. An exception from a sender (only
    errors that would fail every chunk, like authentication) cancels the rest and is raised as itself: the first
    one, even when several workers fail at once (a revoked token fails them all together).
    """
    slots: list[ItemResult[T] | None] = [None] * total
    pending = iter(chunks)
    errors: list[Exception] = []

    async def worker(scope: anyio.CancelScope) -> None:
        try:
            await work()
        except Exception as exc:
            errors.append(exc)
            scope.cancel()

    async def work() -> None:
        for part in pending:  # workers share one iterator: each chunk is taken exactly once
            results = await send(part.items)
            if len(results) != len(part.indexes):
                raise RuntimeError("a chunk sender returned the wrong number of results")
            for index, result in zip(part.indexes, results, strict=True):
                if slots[index] is not None:
                    raise RuntimeError(f"item {index} got two results")
                slots[index] = result
            if on_chunk_done is not None:
                on_chunk_done(results)

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, min(concurrency, len(chunks)))):
            tg.start_soon(worker, tg.cancel_scope)
    if errors:
        raise errors[0]
    missing = [index for index, slot in enumerate(slots) if slot is None]
    if missing:
        raise RuntimeError(f"items without a result: {missing[:10]}")
    return BulkResult([slot for slot in slots if slot is not None])
