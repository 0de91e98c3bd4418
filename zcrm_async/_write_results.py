"""Zoho's answer to a bulk write, read item by item: one ``ItemResult`` per item sent, in the order sent.

Zoho answers a write with a ``data`` (or ``Emails``) array of per-item statuses, 200, 207 or 400, flat or nested;
a request-level error (a top-level ``code``) or no response at all fails every item of the request with its cause.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec

from ._bulk import ItemResult
from ._errors import AuthenticationError, RedisUnavailable, TransportError, error_from_response
from ._transport import Response
from .models import ItemStatus, decode_item_statuses
from .outcomes import NO_CONTENT, NO_RESULT, REDIS_UNAVAILABLE, SUCCESS, TRANSPORT_ERROR, UNKNOWN, UNREADABLE_RESULT

__all__ = [
    "REDIS_UNAVAILABLE",  # the CLI's import until it reads zcrm_async.outcomes (the codes' one home)
    "fail_all",
    "fail_transport",
    "failed",
    "place",
    "results_from_response",
]

T = TypeVar("T")
E = TypeVar("E")


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
        return fail_all(items, response)
    try:
        statuses = decode_item_statuses(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        if response.status < 300:  # accepted, but what happened to each item cannot be read: read back
            unreadable = "Zoho's per-item results could not be read"
            return [failed(item, UNREADABLE_RESULT, unreadable, attempts) for item in items]
        return fail_all(items, response)
    if response.status < 300 and statuses and all(not status.code for status in statuses):
        # The single-message link echoes the input on success (the doc's sample), with no code at all.
        return [ItemResult(item, SUCCESS, "success", "", {}, attempts) for item in items]
    ordered = _match(items, statuses, key)
    return [
        ItemResult(item, status.code or UNKNOWN, _status_of(status), status.message or "", status.details or {},
                   attempts)
        if status is not None
        else failed(item, NO_RESULT, "Zoho returned no result for this item", attempts)
        for item, status in zip(items, ordered, strict=True)
    ]


def _status_of(status: ItemStatus) -> str:
    if status.status in ("success", "error"):
        return status.status
    return "success" if status.code == SUCCESS else "error"


#: The item's index in ``details.json_path``, written ``$.Emails[2].owner`` (records, Associate Email) or
#: ``Emails[2].owner`` / ``message_ids[2]`` (Link Deal to Emails' OpenAPI file).
_JSON_PATH_INDEX = re.compile(r"^(?:\$\.)?\w+\[(\d+)\]")


def _match(
    items: Sequence[T], statuses: list[ItemStatus], key: Callable[[T], str | None] | None
) -> list[ItemStatus | None]:
    """Each item's status: one that names its item (``details.message_id``, or the index in ``details.json_path``
    such as ``$.Emails[2].owner``) goes to that item; the rest as ``place`` says."""
    return place(items, statuses, key, _named_index)


#: Where each key's items stand in a request, first unclaimed first: ``named`` pops the one an entry claims.
Positions = dict[Any, list[int]]


def place(
    items: Sequence[T],
    entries: Sequence[E],
    key: Callable[[T], Hashable] | None,
    named: Callable[[E, Positions, int], int | None],
) -> list[E | None]:
    """Each item's entry in a write's answer: an entry that names its item (``named``: by the id ``key`` gives
    an item, or by an index in its ``json_path``) goes to that item; the rest fill the remaining items in order
    only when their numbers agree, else those items get none (NO_RESULT) rather than another's result."""
    placed: list[E | None] = [None] * len(items)
    positions: Positions = {}
    if key is not None:
        for index, item in enumerate(items):
            positions.setdefault(key(item), []).append(index)
    unnamed: list[E] = []
    for entry in entries:
        claimed = named(entry, positions, len(items))
        if claimed is None or placed[claimed] is not None:
            unnamed.append(entry)
        else:
            placed[claimed] = entry
    free = [index for index, entry in enumerate(placed) if entry is None]
    if len(unnamed) == len(free):
        for index, entry in zip(free, unnamed, strict=True):
            placed[index] = entry
    return placed


def _named_index(status: ItemStatus, positions: Positions, count: int) -> int | None:
    details = status.details or {}
    message_id = details.get("message_id")
    if isinstance(message_id, str) and positions.get(message_id):
        return positions[message_id].pop(0)
    path = details.get("json_path")
    if isinstance(path, str) and (found := _JSON_PATH_INDEX.match(path)):
        index = int(found.group(1))
        return index if index < count else None
    return None


def fail_all(items: Sequence[T], response: Response) -> list[ItemResult[T]]:
    """Every item of a request Zoho refused as a whole (a top-level code, a 5xx, 429, 204), with that cause."""
    if response.status == 204:
        return [failed(item, NO_CONTENT, "Zoho answered 204 with no results", response.attempts) for item in items]
    error = error_from_response(response.status, response.content)
    if isinstance(error, AuthenticationError):
        raise error
    # The HTTP status travels in details: whether a failure may pass (429, 5xx) is the status's to say, not the
    # code's, which is whatever the body held (an HTML 429 gives HTTP_429, a 503 its own code).
    details = {**error.details, "http_status": response.status}
    return [failed(item, error.code, error.message, response.attempts, details) for item in items]


def fail_transport(items: Sequence[T], exc: TransportError) -> list[ItemResult[T]]:
    """Every item of a chunk that got no response after all retries, or was never sent because Redis failed
    (``details["cause"]`` says so: a runner can stop, rather than fail every item left the same way)."""
    details = {"cause": REDIS_UNAVAILABLE} if isinstance(exc, RedisUnavailable) else None
    return [failed(item, TRANSPORT_ERROR, str(exc), details=details) for item in items]
