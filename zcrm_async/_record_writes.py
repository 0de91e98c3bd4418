"""Insert, Update, Upsert and Delete Records in bulk: what each sends, and how an answer in doubt is settled.

Each write is declared here as a *checker* (an input item as it will be sent, or why not) and a *sender* (one
request's items to their results); ``records.py`` runs them through ``_streaming`` (lists and streams alike), 100
records (or ids) a request, in input order. Every request is priced as Zoho prices it ("API Limits"): an insert,
update or upsert costs 1 credit per 10 records (``units``) and, above 10 records, counts against the sub-concurrency
of heavy calls (its ``.bulk`` operation name); a delete costs 1.

Lost answers (no response after the pipeline's retries, a 5xx, or items the answer does not account for):

- **upsert** is resent as it is: Zoho finds the record the lost try made by the duplicate-check fields and
  updates it with the same values, so a replay never makes a second record. That is why every upsert item must
  carry a value for one of its duplicate-check fields (checked before any request). A replayed upsert answers
  ``action: update`` for a record the lost try inserted; ``attempts > 1`` says a replay happened.
- **update** is resent as it is: writing the same values twice leaves the record as once.
- **insert** is never resent blind (the pipeline's replay is off for it): with ``lookup_field``, the records in
  doubt are looked up by that field (COQL), those found are reported as inserted (``details["verified"]``), and
  only those not found are sent again, up to ``SETTLE_ROUNDS`` times. Without it they are reported with their
  cause and ``details["in_doubt"]``, not sent again.
- **delete**: a replayed delete answers INVALID_DATA for the records the lost try deleted; those, and deletes in
  doubt, are read back (Get Record) and reported deleted when gone.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import AsyncIterable, Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from msgspec import UNSET, UnsetType

from ._bulk import BulkResult, ItemResult
from ._client import Target
from ._errors import TransportError
from ._record_answers import WriteBody, encode_write_body, results_of
from ._record_read_back import find_by_field, gone
from ._streaming import BulkStream, Sender, materialize, run_all, stream_chunks
from ._window import Window
from ._write_results import NO_RESULT, REDIS_UNAVAILABLE, SUCCESS, UNREADABLE_RESULT, fail_transport

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["MAX_IDS", "MAX_RECORDS", "SETTLE_ROUNDS", "TRIGGERS", "RecordWrite"]

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
#: An insert's requests: a try that got no answer (or a 5xx) is not resent by the pipeline; ``_settle`` decides.
_NO_BLIND_RESEND = Target(resend_unanswered=False)
_ID = re.compile(r"[0-9]{1,30}")
_IN_DOUBT = frozenset({"TRANSPORT_ERROR", NO_RESULT, UNREADABLE_RESULT})
Record = Mapping[str, Any]


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


def as_record(index: int, row: Record) -> dict[str, Any]:
    """The row as a dict of its own (a caller may reuse theirs), or ``TypeError`` naming it."""
    try:
        return dict(row)
    except (TypeError, ValueError):
        raise TypeError(f"item {index}: expected a mapping of field API names, got {type(row).__name__}") from None


def _in_doubt(result: ItemResult[Any]) -> bool:
    if result.details.get("cause") == REDIS_UNAVAILABLE:
        return False  # never sent
    return result.code in _IN_DOUBT or int(result.details.get("http_status", 0)) >= 500


@dataclasses.dataclass(frozen=True, slots=True)
class RecordWrite:
    """One kind of write on one module: its checker and its sender."""

    crm: ZohoCRM
    module: str
    trigger: list[str] | None = None

    def _operation(self, kind: str, count: int) -> tuple[str, int]:
        """The operation's name in the budget and its units: 1 credit per 10 records, heavy above 10."""
        return (f"records.{kind}.bulk" if count > 10 else f"records.{kind}"), max(1, math.ceil(count / 10))

    async def _send(self, method: str, path: str, kind: str, body: WriteBody, resend: bool) -> Any:
        operation, units = self._operation(kind, len(body.data))
        target = None if resend else _NO_BLIND_RESEND
        return await self.crm.request(
            method, path, operation=operation, content=encode_write_body(body), units=units, target=target
        )

    # -- update and upsert: resent as they are ------------------------------------------------------------

    def check_update(self, index: int, row: Record) -> dict[str, Any]:
        record = as_record(index, row)
        record_id = record.get("id")
        if not isinstance(record_id, str | int) or isinstance(record_id, bool) or not _ID.fullmatch(str(record_id)):
            raise ValueError(f"item {index}: an update names its record by 'id' (digits), got {record_id!r}")
        return record

    def update_sender(self) -> Sender[dict[str, Any]]:
        async def send(part: list[dict[str, Any]]) -> list[ItemResult[dict[str, Any]]]:
            body = WriteBody(data=part, trigger=_unset(self.trigger))
            try:
                response = await self._send("PUT", f"/{self.module}", "update", body, True)
            except TransportError as exc:
                return fail_transport(part, exc)
            return results_of(part, response, key=lambda row: str(row["id"]))

        return send

    def check_fields(self, asked: Sequence[str] | None) -> list[str]:
        """Upsert's duplicate-check fields: the ones asked, else the module's system field."""
        if asked is not None:
            if isinstance(asked, str) or not asked or not all(isinstance(name, str) and name for name in asked):
                raise ValueError("duplicate_check_fields must be a non-empty list of field API names")
            return list(asked)
        return [SYSTEM_DUPLICATE_CHECK.get(self.module, "Name")]

    def upsert_checker(self, fields: Sequence[str]) -> Callable[[int, Record], dict[str, Any]]:
        def check(index: int, row: Record) -> dict[str, Any]:
            record = as_record(index, row)
            if all(record.get(name) in (None, "") for name in fields):
                raise ValueError(
                    f"item {index}: an upsert item needs a value for one of its duplicate-check fields "
                    f"({', '.join(fields)}), or a replay after a lost response could insert it twice"
                )
            return record

        return check

    def upsert_sender(self, fields: list[str] | None) -> Sender[dict[str, Any]]:
        async def send(part: list[dict[str, Any]]) -> list[ItemResult[dict[str, Any]]]:
            body = WriteBody(data=part, trigger=_unset(self.trigger), duplicate_check_fields=_unset(fields))
            try:
                response = await self._send("POST", f"/{self.module}/upsert", "upsert", body, True)
            except TransportError as exc:
                return fail_transport(part, exc)
            return results_of(part, response)

        return send

    # -- insert: never resent blind -----------------------------------------------------------------------

    def insert_checker(self, lookup_field: str | None) -> Callable[[int, Record], dict[str, Any]]:
        def check(index: int, row: Record) -> dict[str, Any]:
            record = as_record(index, row)
            if lookup_field is not None and record.get(lookup_field) in (None, ""):
                raise ValueError(f"item {index}: no value for lookup_field {lookup_field!r}")
            return record

        return check

    def insert_sender(self, lookup_field: str | None) -> Sender[dict[str, Any]]:
        async def send(part: list[dict[str, Any]]) -> list[ItemResult[dict[str, Any]]]:
            results = await self._insert_once(part)
            for _ in range(SETTLE_ROUNDS):
                doubt = [i for i, result in enumerate(results) if _in_doubt(result)]
                if not doubt or lookup_field is None:
                    break
                resend = await self._settle(part, results, doubt, lookup_field)
                if not resend:
                    break
                again = await self._insert_once([part[i] for i in resend])
                for i, result in zip(resend, again, strict=True):
                    results[i] = dataclasses.replace(result, attempts=result.attempts + results[i].attempts)
            return [_mark_doubt(result) if _in_doubt(result) else result for result in results]

        return send

    async def _insert_once(self, part: list[dict[str, Any]]) -> list[ItemResult[dict[str, Any]]]:
        body = WriteBody(data=part, trigger=_unset(self.trigger))
        try:
            response = await self._send("POST", f"/{self.module}", "insert", body, False)
        except TransportError as exc:
            return fail_transport(part, exc)
        return results_of(part, response)

    async def _settle(
        self, part: list[dict[str, Any]], results: list[ItemResult[dict[str, Any]]], doubt: list[int], name: str
    ) -> list[int]:
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

    # -- delete ---------------------------------------------------------------------------------------------

    @staticmethod
    def check_id(index: int, record_id: str) -> str:
        if not isinstance(record_id, str) or not _ID.fullmatch(record_id):
            raise ValueError(f"item {index}: a record id is digits, got {record_id!r}")
        return record_id

    def delete_sender(self, wf_trigger: bool | None) -> Sender[str]:
        params = {} if wf_trigger is None else {"wf_trigger": "true" if wf_trigger else "false"}

        async def send(part: list[str]) -> list[ItemResult[str]]:
            replayed = True
            try:
                response = await self.crm.request(
                    "DELETE", f"/{self.module}", operation="records.delete", params={"ids": ",".join(part), **params}
                )
            except TransportError as exc:
                results = fail_transport(part, exc)
            else:
                results, replayed = results_of(part, response, key=str), response.replayed
            doubt = [i for i, r in enumerate(results) if _in_doubt(r) or (replayed and r.code == "INVALID_DATA")]
            if doubt:
                await self._settle_deletes(part, results, doubt)
            return results

        return send

    async def _settle_deletes(self, part: list[str], results: list[ItemResult[str]], doubt: list[int]) -> None:
        try:
            deleted = await gone(self.crm, self.module, [part[i] for i in doubt])
        except TransportError:
            return
        for i in doubt:
            if part[i] in deleted:
                results[i] = ItemResult(part[i], SUCCESS, "success", "record deleted (read back after a replay)",
                                        {"id": part[i], "verified": True}, results[i].attempts + 1)  # fmt: skip


def _mark_doubt(result: ItemResult[Any]) -> ItemResult[Any]:
    """An insert that may have been applied and was not sent again."""
    return dataclasses.replace(result, details={**result.details, "in_doubt": True})


def _unset(value: list[str] | None) -> list[str] | UnsetType:
    return UNSET if value is None else value


Rows = Iterable[Record] | AsyncIterable[Record]


async def run_list(
    rows: Iterable[Any] | AsyncIterable[Any],
    check: Callable[[int, Any], Any],
    send: Sender[Any],
    size: int,
    *,
    concurrency: int,
    on_progress: Callable[[Sequence[ItemResult[Any]]], None] | None,
    unique: Callable[[Any], Hashable] | None = None,
) -> BulkResult[Any]:
    """A write's list form: every item checked before the first request, then every result in input order."""
    items = [check(index, row) for index, row in enumerate(await materialize(rows))]
    if not items:
        raise ValueError("nothing to send: the input is empty")
    if unique is not None:
        seen: dict[Hashable, int] = {}
        for index, item in enumerate(items):
            first = seen.setdefault(unique(item), index)
            if first != index:
                raise ValueError(f"item {index}: repeats item {first}'s lookup value, so a lost answer could not be "
                                 "told apart")  # fmt: skip
    return await run_all(items, send, in_order(size), concurrency=concurrency, on_progress=on_progress)


def run_stream(
    rows: Iterable[Any] | AsyncIterable[Any],
    check: Callable[[int, Any], Any],
    send: Sender[Any],
    size: int,
    *,
    concurrency: int,
    unique: Callable[[Any], Hashable] | None = None,
) -> AbstractAsyncContextManager[BulkStream[Any]]:
    """A write's streaming form: ``(index, result)`` as each request completes; a bad item is INVALID_ITEM."""
    return stream_chunks(rows, send, in_order(size), concurrency=concurrency, check=check, pending_key=unique)
