"""Insert, Update, Upsert and Delete Records, declared as bulk ops: what each sends, and how an answer in doubt is
settled.

Each write is a ``RequestOp`` the runner (``_runner.BulkRunner``) runs as a list or a stream: 100 records (or ids)
a request, in input order, the answer read by ``_record_answers.results_of`` (matched by ``$.data[i]`` and ``id``).
Every request is priced as Zoho prices it ("API Limits"): an insert, update or upsert costs 1 credit per 10
records (``units``) and, above 10 records, counts against the sub-concurrency of heavy calls (its ``.bulk``
operation name); a delete costs 1.

Lost answers (no response after the pipeline's retries, a 5xx, or items the answer does not account for):

- **upsert** is resent as it is: Zoho finds the record the lost try made by the duplicate-check fields and
  updates it with the same values, so a replay never makes a second record. That is why every upsert item must
  carry a value for one of its duplicate-check fields (checked before any request). A replayed upsert answers
  ``action: update`` for a record the lost try inserted; ``attempts > 1`` says a replay happened.
- **update** is resent as it is: writing the same values twice leaves the record as once.
- **insert** is never resent blind (``resend_unanswered=False``): with ``lookup_field``, the records in doubt are
  looked up by that field (COQL), those found are reported as inserted (``details["verified"]``), and only those
  not found are sent again, up to ``SETTLE_ROUNDS`` times. Without it they are reported with their cause and
  ``details["in_doubt"]``, not sent again.
- **delete**: a replayed delete answers INVALID_DATA for the records the lost try deleted; those, and deletes in
  doubt, are read back (Get Record) and reported deleted when gone.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec import UNSET, UnsetType

from ._bulk import ItemResult
from ._errors import TransportError
from ._ops import PlannedRequest, RequestOp
from ._record_answers import WriteBody, encode_write_body, results_of
from ._record_read_back import find_by_field, gone
from ._runner import BulkRunner
from ._transport import Response
from ._window import Window
from .outcomes import INVALID_DATA, NO_RESULT, REDIS_UNAVAILABLE, SUCCESS, TRANSPORT_ERROR, UNREADABLE_RESULT

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = [
    "MAX_IDS",
    "MAX_RECORDS",
    "SETTLE_ROUNDS",
    "TRIGGERS",
    "delete_op",
    "insert_op",
    "update_op",
    "upsert_op",
]

T = TypeVar("T")

MAX_RECORDS = 100  # per Insert, Update or Upsert Records call
MAX_IDS = 100  # per Delete Records call
SETTLE_ROUNDS = 3
#: Zoho's automations a write can run ("Insert Records": omitted, all run; an empty list, none).
TRIGGERS = frozenset({"workflow", "approval", "blueprint", "pathfinder", "orchestration"})
#: Upsert's system duplicate-check fields by module ("Upsert Records"); a custom module's is ``Name``.
SYSTEM_DUPLICATE_CHECK = {
    "Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name",
    "Campaigns": "Campaign_Name", "Cases": "Subject", "Quotes": "Subject", "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject", "Invoices": "Subject", "Solutions": "Solution_Title", "Products": "Product_Name",
    "Vendors": "Vendor_Name", "Price_Books": "Price_Book_Name",
}  # fmt: skip
_ID = re.compile(r"[0-9]{1,30}")
_IN_DOUBT = frozenset({TRANSPORT_ERROR, NO_RESULT, UNREADABLE_RESULT})
Record = Mapping[str, Any]
Row = dict[str, Any]
Results = list[ItemResult[T]]


def checked_trigger(trigger: Sequence[str] | None) -> list[str] | None:
    if trigger is None:
        return None
    if isinstance(trigger, str) or not all(name in TRIGGERS for name in trigger):
        raise ValueError(f"trigger must be a list of {', '.join(sorted(TRIGGERS))} (or [] for none)")
    return list(trigger)


def in_order(size: int) -> Window[Any]:
    """Requests of ``size`` consecutive items: nothing waits to be grouped."""
    return Window(_one_group, size, size)


def _one_group(_: object) -> None:
    return None


def as_record(index: int, row: Record) -> Row:
    """The row as a dict of its own (a caller may reuse theirs), or ``TypeError`` naming it."""
    try:
        return dict(row)
    except (TypeError, ValueError):
        raise TypeError(f"item {index}: expected a mapping of field API names, got {type(row).__name__}") from None


def _in_doubt(result: ItemResult[Any]) -> bool:
    if result.details.get("cause") == REDIS_UNAVAILABLE:
        return False  # never sent
    return result.code in _IN_DOUBT or int(result.details.get("http_status", 0)) >= 500


def _whole(
    check: Callable[[int, T], T], unique: Callable[[T], Hashable] | None = None
) -> Callable[[list[T]], list[T]]:
    """A list form's check: every item, then none empty, then (with ``unique``) no lookup value twice."""

    def check_all(rows: list[T]) -> list[T]:
        items = [check(index, row) for index, row in enumerate(rows)]
        if not items:
            raise ValueError("nothing to send: the input is empty")
        if unique is not None:
            seen: dict[Hashable, int] = {}
            for index, item in enumerate(items):
                first = seen.setdefault(unique(item), index)
                if first != index:
                    raise ValueError(f"item {index}: repeats item {first}'s lookup value, so a lost answer could "
                                     "not be told apart")  # fmt: skip
        return items

    return check_all


def _write_request(
    method: str, path: str, kind: str, part: list[Row], body: WriteBody, *, resend: bool = True
) -> PlannedRequest[Row]:
    """One write's request, priced per 10 records and named heavy (``.bulk``) above 10."""
    count = len(part)
    operation = f"records.{kind}.bulk" if count > 10 else f"records.{kind}"
    units = max(1, math.ceil(count / 10))
    return PlannedRequest(method, path, operation, part, body=encode_write_body(body), units=units,
                          resend_unanswered=resend)  # fmt: skip


def _unset(value: list[str] | None) -> list[str] | UnsetType:
    return UNSET if value is None else value


def _records_op(crm: ZohoCRM, **pieces: Any) -> RequestOp[Row]:
    """A record write's op: 100 records a request in input order, the answer read by ``results_of``."""
    pieces.setdefault("read", results_of)
    return RequestOp(pipeline=BulkRunner(crm).send, grouping=lambda _: in_order(MAX_RECORDS), **pieces)


# -- update and upsert: resent as they are --------------------------------------------------------------------


def check_update(index: int, row: Record) -> Row:
    record = as_record(index, row)
    record_id = record.get("id")
    if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not _ID.fullmatch(str(record_id)):
        raise ValueError(f"item {index}: an update names its record by 'id' (digits), got {record_id!r}")
    return record


def update_op(crm: ZohoCRM, module: str, *, trigger: Sequence[str] | None = None) -> RequestOp[Row]:
    """Update Records ``PUT /{module}``: each record names itself by ``id``, and its result is matched by it."""
    triggers = _unset(checked_trigger(trigger))

    async def request(part: list[Row]) -> PlannedRequest[Row]:
        return _write_request("PUT", f"/{module}", "update", part, WriteBody(data=part, trigger=triggers))

    def read(part: list[Row], response: Response) -> Results[Row]:
        return results_of(part, response, key=lambda row: str(row["id"]))

    return _records_op(crm, request=request, checker=check_update, validator=_whole(check_update), read=read)


def checked_duplicate_fields(module: str, asked: Sequence[str] | None) -> list[str]:
    """Upsert's duplicate-check fields: the ones asked, else the module's system field."""
    if asked is not None:
        if isinstance(asked, str) or not asked or not all(isinstance(name, str) and name for name in asked):
            raise ValueError("duplicate_check_fields must be a non-empty list of field API names")
        return list(asked)
    return [SYSTEM_DUPLICATE_CHECK.get(module, "Name")]


def upsert_op(
    crm: ZohoCRM, module: str, *, duplicate_check_fields: Sequence[str] | None = None,
    trigger: Sequence[str] | None = None,
) -> RequestOp[Row]:  # fmt: skip
    """Upsert Records ``POST /{module}/upsert``: every record must hold a value for one of its duplicate-check
    fields, so that a replay after a lost answer finds the record the lost try made."""
    triggers = _unset(checked_trigger(trigger))
    fields = checked_duplicate_fields(module, duplicate_check_fields)
    asked = _unset(None if duplicate_check_fields is None else fields)

    def check(index: int, row: Record) -> Row:
        record = as_record(index, row)
        if all(record.get(name) in (None, "") for name in fields):
            raise ValueError(
                f"item {index}: an upsert item needs a value for one of its duplicate-check fields "
                f"({', '.join(fields)}), or a replay after a lost response could insert it twice"
            )
        return record

    async def request(part: list[Row]) -> PlannedRequest[Row]:
        body = WriteBody(data=part, trigger=triggers, duplicate_check_fields=asked)
        return _write_request("POST", f"/{module}/upsert", "upsert", part, body)

    return _records_op(crm, request=request, checker=check, validator=_whole(check))


# -- insert: never resent blind -------------------------------------------------------------------------------


def insert_op(
    crm: ZohoCRM, module: str, *, trigger: Sequence[str] | None = None, lookup_field: str | None = None
) -> RequestOp[Row]:
    """Insert Records ``POST /{module}``; a record a lost answer leaves in doubt is looked up by ``lookup_field``
    and sent again only if not found (without it: reported ``in_doubt``, never sent twice)."""
    triggers = _unset(checked_trigger(trigger))
    unique = None if lookup_field is None else _value_of(lookup_field)

    def check(index: int, row: Record) -> Row:
        record = as_record(index, row)
        if lookup_field is not None and record.get(lookup_field) in (None, ""):
            raise ValueError(f"item {index}: no value for lookup_field {lookup_field!r}")
        return record

    async def request(part: list[Row]) -> PlannedRequest[Row]:
        body = WriteBody(data=part, trigger=triggers)
        return _write_request("POST", f"/{module}", "insert", part, body, resend=False)

    once = _records_op(crm, request=request, checker=check, validator=_whole(check, unique), pending_key=unique)
    settle = _InsertSettle(crm, module, lookup_field, once.write)

    async def verify(results: Results[Row], _: Response) -> Results[Row]:
        return await settle(results)

    return dataclasses.replace(once, verify=verify, unanswered=settle)


@dataclasses.dataclass(frozen=True, slots=True)
class _InsertSettle:
    """An insert's results in doubt: looked up by the lookup field, those not found sent again (``send``)."""

    crm: ZohoCRM
    module: str
    lookup_field: str | None
    send: Callable[[list[Row]], Awaitable[Results[Row]]]

    async def __call__(self, answered: Results[Row]) -> Results[Row]:
        results = list(answered)
        part = [result.item for result in results]
        for _ in range(SETTLE_ROUNDS):
            doubt = [i for i, result in enumerate(results) if _in_doubt(result)]
            if not doubt or self.lookup_field is None:
                break
            resend = await self._found(part, results, doubt, self.lookup_field)
            if not resend:
                break
            again = await self.send([part[i] for i in resend])
            for i, result in zip(resend, again, strict=True):
                results[i] = dataclasses.replace(result, attempts=result.attempts + results[i].attempts)
        return [_mark_doubt(result) if _in_doubt(result) else result for result in results]

    async def _found(self, part: list[Row], results: Results[Row], doubt: list[int], name: str) -> list[int]:
        """Look the records in doubt up by ``name``: those found are inserted; the rest are to be sent again."""
        try:
            found = await find_by_field(self.crm, self.module, name, [part[i][name] for i in doubt])
        except TransportError:
            return []  # cannot tell: leave them in doubt rather than risk a second record
        resend = []
        for i in doubt:
            record_id = found.get(str(part[i][name]))
            if record_id is None:
                resend.append(i)
                continue
            details = {"id": record_id, "verified": True}
            results[i] = ItemResult(part[i], SUCCESS, "success", "record added (found after a lost answer)", details,
                                    results[i].attempts + 1)  # fmt: skip
        return resend


def _mark_doubt(result: ItemResult[Any]) -> ItemResult[Any]:
    """An insert that may have been applied and was not sent again."""
    return dataclasses.replace(result, details={**result.details, "in_doubt": True})


def _value_of(name: str) -> Callable[[Row], Hashable]:
    return lambda record: str(record.get(name))


# -- delete ---------------------------------------------------------------------------------------------------


def check_id(index: int, record_id: str) -> str:
    if not isinstance(record_id, str) or not _ID.fullmatch(record_id):
        raise ValueError(f"item {index}: a record id is digits, got {record_id!r}")
    return record_id


def delete_op(crm: ZohoCRM, module: str, *, wf_trigger: bool | None = None) -> RequestOp[str]:
    """Delete Records ``DELETE /{module}?ids=...``: results matched by id; a replay's INVALID_DATA, and deletes
    in doubt, read back."""
    flags = {} if wf_trigger is None else {"wf_trigger": "true" if wf_trigger else "false"}

    async def request(part: list[str]) -> PlannedRequest[str]:
        params = {"ids": ",".join(part), **flags}
        return PlannedRequest("DELETE", f"/{module}", "records.delete", part, params=params)

    def read(part: list[str], response: Response) -> Results[str]:
        return results_of(part, response, key=str)

    async def verify(results: Results[str], response: Response) -> Results[str]:
        return await _settle_deletes(crm, module, results, replayed=response.replayed)

    async def unanswered(results: Results[str]) -> Results[str]:
        return await _settle_deletes(crm, module, results, replayed=True)

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda _: in_order(MAX_IDS),
        checker=check_id,
        validator=_whole(check_id),
        pending_key=str,
        read=read,
        verify=verify,
        unanswered=unanswered,
    )


async def _settle_deletes(crm: ZohoCRM, module: str, answered: Results[str], *, replayed: bool) -> Results[str]:
    """The deletes in doubt (and, after a replay, those Zoho says it cannot find) read back: gone is deleted."""
    results = list(answered)
    doubt = [i for i, r in enumerate(results) if _in_doubt(r) or (replayed and r.code == INVALID_DATA)]
    if not doubt:
        return results
    try:
        deleted = await gone(crm, module, [results[i].item for i in doubt])
    except TransportError:
        return results
    for i in doubt:
        record_id = results[i].item
        if record_id in deleted:
            results[i] = ItemResult(record_id, SUCCESS, "success", "record deleted (read back after a replay)",
                                    {"id": record_id, "verified": True}, results[i].attempts + 1)  # fmt: skip
    return results
