"""Record writes on the wire: the body Insert, Update and Upsert Records take, and their answers read item by item.

Pure: no I/O. The body is ``{"data": [...], "trigger": [...], "duplicate_check_fields": [...]}`` (the record
OpenAPI file's ``Body_Wrapper``; ``trigger`` and ``duplicate_check_fields`` are left out when not given, and
omitting ``trigger`` runs every automation, Zoho's default). The answer is ``{"data": [entry, ...]}`` (200, 201,
207 or 400 alike) where each entry is ``{code, status, message, details}``, plus ``action`` and
``duplicate_field`` for an upsert.

How an entry finds its item (``match``), in this order:

1. an entry whose ``details.json_path`` names ``$.data[i]`` belongs to item ``i`` of that request (Zoho names
   the field at fault this way: never assume position where it does);
2. an entry whose ``details.id`` is an item's key (an update's ``id``, a delete's id) belongs to that item;
3. Zoho gives nothing else: an insert's or an upsert's success names only the record it made. Those entries
   take the items left, in order, *only when their numbers agree* (Zoho answers one entry per record, in input
   order: the Insert Records page); otherwise those items get ``NO_RESULT`` rather than another item's result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from ._bulk import ItemResult
from ._transport import Response
from ._write_results import Positions, fail_all, failed, place
from .outcomes import LIMIT_EXCEEDED, NO_RESULT, SUCCESS, UNKNOWN, UNREADABLE_RESULT

__all__ = ["RecordEntry", "WriteBody", "encode_write_body", "match", "results_of"]

T = TypeVar("T")


class WriteBody(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """The body of Insert, Update and Upsert Records."""

    data: list[dict[str, Any]]
    trigger: list[str] | UnsetType = UNSET
    duplicate_check_fields: list[str] | UnsetType = UNSET


class RecordEntry(msgspec.Struct, kw_only=True, frozen=True):
    """One record's outcome in a write's answer (any key may be missing or null)."""

    code: str | None = None
    status: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None
    #: Upsert only: ``insert`` or ``update``.
    action: str | UnsetType | None = UNSET
    #: Upsert only: the duplicate-check field that found the record (null on insert).
    duplicate_field: str | UnsetType | None = UNSET


class _Answer(msgspec.Struct, frozen=True):
    data: list[RecordEntry]


_encode = msgspec.json.Encoder().encode
_decode_answer = msgspec.json.Decoder(_Answer).decode
_JSON_PATH_INDEX = re.compile(r"^\$\.data\[(\d+)\]")


def encode_write_body(body: WriteBody) -> bytes:
    return _encode(body)


def match(
    items: Sequence[T], entries: Sequence[RecordEntry], key: Callable[[T], str] | None
) -> list[RecordEntry | None]:
    """Each item's entry, by the rules in the module docstring."""
    return place(items, entries, key, _named)


def _named(entry: RecordEntry, unplaced_by_key: Positions, count: int) -> int | None:
    """The item an entry names: by its json_path's index, else by its id (taken, so a repeat names the next)."""
    details = entry.details or {}
    path = details.get("json_path")
    if isinstance(path, str) and (found := _JSON_PATH_INDEX.match(path)):
        index = int(found.group(1))
        return index if index < count else None
    record_id = details.get("id")
    holders = unplaced_by_key.get(str(record_id)) if isinstance(record_id, str | int) else None
    return holders.pop(0) if holders else None


def results_of(items: Sequence[T], response: Response, key: Callable[[T], str] | None = None) -> list[ItemResult[T]]:
    """One ``ItemResult`` per item of one write's answer, in the order of ``items``.

    A request-level answer (a top-level ``code``, a 5xx, 429, 401...) fails every item with its cause; an upsert's
    ``action`` and ``duplicate_field`` are added to each result's ``details``.
    """
    attempts = response.attempts
    if response.status >= 500 or response.status in (204, 401, 403, 404, 429):
        return fail_all(items, response)
    try:
        entries = _decode_answer(response.content).data
    except (msgspec.DecodeError, msgspec.ValidationError):
        if response.status < 300:  # applied, but what happened to each record cannot be read: read back
            return [failed(item, UNREADABLE_RESULT, "Zoho's per-record results could not be read", attempts)
                    for item in items]  # fmt: skip
        return fail_all(items, response)
    if len(entries) == 1 and len(items) > 1 and entries[0].code == LIMIT_EXCEEDED:
        entries = list(entries) * len(items)  # the whole request was refused for its size
    return [_result(item, entry, attempts) for item, entry in zip(items, match(items, entries, key), strict=True)]


def _result(item: T, entry: RecordEntry | None, attempts: int) -> ItemResult[T]:
    if entry is None:
        return failed(item, NO_RESULT, "Zoho returned no result for this record", attempts)
    details = dict(entry.details or {})
    if entry.action is not UNSET:
        details["action"] = entry.action
    if entry.duplicate_field is not UNSET:
        details["duplicate_field"] = entry.duplicate_field
    ok = entry.status == "success" or (entry.status is None and entry.code == SUCCESS)
    return ItemResult(item, entry.code or UNKNOWN, "success" if ok else "error", entry.message or "", details,
                      attempts)  # fmt: skip
