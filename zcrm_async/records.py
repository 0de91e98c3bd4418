"""Records of a module, for backfills: paging through Contacts or Deals, and related-records updates.

Get Records pages by ``page`` for the first 2,000 records (10 pages of 200), fetched side by side, then by
``page_token`` beyond them, one page at a time (Zoho's "Get Records" page). Records stay ``dict[str, Any]``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, cast

import anyio

from . import _coql_read, _record_reads
from ._bulk import BulkResult, ItemResult
from ._client import raise_for_status
from ._cursors import CursorChain
from ._decode import decode_or_raise
from ._errors import error_in_answer
from ._fanout import first_error
from ._record_writes import SYSTEM_DUPLICATE_CHECK, delete_op, insert_op, update_op, upsert_op
from ._related_update import related_update_op
from ._runner import BulkRunner
from ._streaming import BulkStream
from .coql import CoqlPage, Query
from .models import RecordsPage, decode_records_page
from .search import Criteria

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["Records", "system_duplicate_check_field"]

Rows = Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]]
Progress = Callable[[Sequence[ItemResult[Any]]], None]

MAX_PER_PAGE = 200
MAX_RECORDS = 100_000  # Zoho's ceiling for one page_token chain
DISCRETE_PAGES = 10  # page=1..10 reach the first 2,000 records; page_token goes further
MAX_FIELDS = 50


class Records:
    """``crm.records``: read a module's records (pages, by id, search, count, COQL); insert, update, upsert and
    delete them; update related records by external id."""

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm
        self._bulk = BulkRunner(crm)

    async def page(
        self,
        module: str,
        *,
        fields: Sequence[str],
        per_page: int = MAX_PER_PAGE,
        page: int | None = None,
        page_token: str | None = None,
    ) -> RecordsPage:
        """One page of Get Records (204, no records, gives an empty page)."""
        params = _params(fields, per_page)
        if page is not None and page_token is not None:
            raise ValueError("page and page_token cannot be used together (Zoho's rule)")
        if page is not None:
            params["page"] = str(page)
        if page_token is not None:
            params["page_token"] = page_token
        response = await self._crm.request("GET", f"/{module}", operation="records.list", params=params)
        if response.status == 204:
            return RecordsPage()
        answer = decode_or_raise(decode_records_page, raise_for_status(response), "Zoho's records page")
        # A refusal in a 200 (as record.json allows) would read as an empty page: the export would end, silent.
        if not answer.data and (refused := error_in_answer(response.status, response.content)) is not None:
            raise refused
        return answer

    async def iterate(
        self,
        module: str,
        *,
        fields: Sequence[str],
        per_page: int = MAX_PER_PAGE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``module``, in Zoho's order.

        Pages 2-10 are fetched concurrently once page 1 says there are more; past 2,000 records the chain of
        ``page_token`` continues one page at a time until ``more_records`` is false, a page is empty, or Zoho
        answers 204. A token given twice, or a chain past Zoho's 100,000 records, raises ``PaginationError``.
        Zoho gives no total, so a module with between one and ten pages spends up to 8 credits on pages
        that come back empty: the price of reading the first 2,000 records in two round trips instead of ten.
        """
        _params(fields, per_page)  # validate before the first request
        first = await self.page(module, fields=fields, per_page=per_page, page=1)
        for record in first.data:
            yield record
        if not _more(first, per_page):
            return
        pages = await self._discrete_pages(module, fields, per_page)
        last = first
        for current in pages:
            for record in current.data:
                yield record
            last = current
            if not _more(current, per_page):
                return
        # Zoho serves at most 100,000 records by page_token: a chain longer than that, or one that repeats a
        # token, is a broken server, and following it would never end.
        chain = CursorChain(f"Get Records of {module}", max_pages=MAX_RECORDS // per_page + 1)
        token = last.info.next_page_token
        while token:
            current = await self.page(module, fields=fields, per_page=per_page, page_token=chain.follow(token))
            for record in current.data:
                yield record
            if not _more(current, per_page) or not current.data:
                return
            token = current.info.next_page_token

    async def _discrete_pages(self, module: str, fields: Sequence[str], per_page: int) -> list[RecordsPage]:
        """Pages 2..N of the first 2,000 records, side by side; the list stops at the first empty page."""
        count = min(DISCRETE_PAGES, 2000 // per_page)
        pages: list[RecordsPage | None] = [None] * (count - 1)

        async def fetch(number: int) -> None:
            pages[number - 2] = await self.page(module, fields=fields, per_page=per_page, page=number)

        try:
            async with anyio.create_task_group() as tg:
                for number in range(2, count + 1):
                    tg.start_soon(fetch, number)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        ordered: list[RecordsPage] = []
        for page in pages:
            if page is None or not page.data:
                break
            ordered.append(page)
            if not _more(page, per_page):
                break
        return ordered

    # -- reads by id, search, count (``_record_reads``) --------------------------------------------------------

    async def get(self, module: str, record_id: str, *, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """Get Record ``GET /{module}/{id}``: the record (``fields``, or every field), or None if Zoho has none."""
        return await _record_reads.get(self._crm, module, record_id, fields=fields)

    def get_many(
        self, module: str, ids: Iterable[str], *, fields: Sequence[str], concurrency: int = 4
    ) -> AsyncIterator[dict[str, Any]]:
        """The records of ``ids`` Zoho has (any number of ids: 100 a call, ``concurrency`` calls at a time);
        ids Zoho does not have are left out. Each id is checked (digits) before the call that carries it."""
        return _record_reads.get_many(self._crm, module, ids, fields=fields, concurrency=concurrency)

    def search(
        self,
        module: str,
        *,
        criteria: Criteria | str | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        fields: Sequence[str] | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Search Records ``GET /{module}/search`` by exactly one of ``criteria`` (build it with
        ``zcrm_async.search.criterion``), ``email``, ``phone``, ``word``: every record found, up to Zoho's 2,000,
        then ``PaginationError`` if more match. Bad arguments raise ``ValueError`` before any request."""
        params = _record_reads.search_params(criteria, email, phone, word)
        return _record_reads.search(self._crm, module, params, fields=fields, per_page=per_page)

    async def count(
        self,
        module: str,
        *,
        criteria: Criteria | str | None = None,
        email: str | None = None,
        phone: str | None = None,
        word: str | None = None,
        cvid: str | None = None,
    ) -> int:
        """Record Count ``GET /{module}/actions/count``: the module's records, or those one search parameter (or
        a custom view, ``cvid``) matches. Zoho's count lags new records by minutes."""
        if cvid is not None and any(value is not None for value in (criteria, email, phone, word)):
            raise ValueError("cvid cannot be combined with a search parameter (Zoho's rule)")
        if cvid is not None:
            params = {"cvid": cvid}
        elif criteria is email is phone is word is None:
            params = {}
        else:
            params = _record_reads.search_params(criteria, email, phone, word)
        return await _record_reads.count(self._crm, module, params)

    # -- COQL (``_coql_read``) ------------------------------------------------------------------------------

    def coql(
        self, query: Query, *, page_size: int = _coql_read.MAX_ROWS, concurrency: int = 4
    ) -> AsyncIterator[dict[str, Any]]:
        """Every row of a COQL ``query`` (``zcrm_async.coql.Query``), in constant memory.

        Pages of ``page_size`` rows (at most 2,000) by LIMIT/OFFSET up to Zoho's 100,000, then by key
        (``id > last``) for a query in id order; up to ``concurrency`` pages side by side. Each page costs the
        credits of its LIMIT. Raises ``ValueError`` for a bad argument before any request, ``PaginationError``
        for a query ordered by another field past 100,000 rows.
        """
        return _coql_read.iterate(self._crm, query, page_size=page_size, concurrency=concurrency)

    async def coql_page(self, query: Query, *, limit: int = 200, offset: int = 0) -> CoqlPage:
        """One Execute COQL Query call: ``limit`` rows (1-2,000) of ``query`` from ``offset``."""
        if not 1 <= limit <= _coql_read.MAX_ROWS or not 0 <= offset <= _coql_read.REACH - limit:
            raise ValueError("limit must be 1-2,000 and offset + limit at most 100,000 (Zoho's reach)")
        return await _coql_read.page(self._crm, query.text(limit=limit, offset=offset), limit=limit)

    # -- Insert, Update, Upsert and Delete Records (``_record_writes`` says how each settles a lost answer) ------

    async def insert(
        self, module: str, records: Rows, *, trigger: Sequence[str] | None = None, lookup_field: str | None = None,
        concurrency: int | None = None, on_progress: Progress | None = None,
    ) -> BulkResult[dict[str, Any]]:  # fmt: skip
        """Insert Records: ``POST /{module}``, 100 records a request; one result per record, in input order.

        Args:
            records: field API names to values, any iterable or async iterable; each is checked before the
                first request (``ValueError``/``TypeError``).
            trigger: the automations to run (``workflow``, ``approval``, ``blueprint``, ``pathfinder``,
                ``orchestration``); None runs all (Zoho's default), ``[]`` none.
            lookup_field: a field whose value identifies each new record (an external id, a unique email): a
                record whose answer was lost is looked up by it and sent again only if not found. Without it a
                lost insert is reported in doubt (``details["in_doubt"]``), never sent twice.
        """
        op = insert_op(self._crm, module, trigger=trigger, lookup_field=lookup_field)
        return await self._bulk.run(op, _rows(records), concurrency=concurrency, on_progress=on_progress)

    def insert_stream(
        self, module: str, records: Rows, *, trigger: Sequence[str] | None = None, lookup_field: str | None = None,
        concurrency: int | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[dict[str, Any]]]:  # fmt: skip
        """``insert`` in constant memory: ``(index, result)`` as each request completes; a bad record comes out
        as ``INVALID_ITEM`` with nothing sent for it."""
        op = insert_op(self._crm, module, trigger=trigger, lookup_field=lookup_field)
        return self._bulk.stream(op, _rows(records), concurrency=concurrency)

    async def update(
        self, module: str, records: Rows, *, trigger: Sequence[str] | None = None, concurrency: int | None = None,
        on_progress: Progress | None = None,
    ) -> BulkResult[dict[str, Any]]:  # fmt: skip
        """Update Records: ``PUT /{module}``, 100 records a request, each naming its record by ``id``; results are
        matched by that id. A lost answer is resent (the same values twice leave the record as once)."""
        op = update_op(self._crm, module, trigger=trigger)
        return await self._bulk.run(op, _rows(records), concurrency=concurrency, on_progress=on_progress)

    def update_stream(
        self, module: str, records: Rows, *, trigger: Sequence[str] | None = None, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BulkStream[dict[str, Any]]]:
        """``update`` in constant memory (see ``insert_stream``)."""
        return self._bulk.stream(update_op(self._crm, module, trigger=trigger), _rows(records), concurrency=concurrency)

    async def upsert(
        self, module: str, records: Rows, *, duplicate_check_fields: Sequence[str] | None = None,
        trigger: Sequence[str] | None = None, concurrency: int | None = None, on_progress: Progress | None = None,
    ) -> BulkResult[dict[str, Any]]:  # fmt: skip
        """Upsert Records: ``POST /{module}/upsert``, 100 a request: Zoho updates the record the
        ``duplicate_check_fields`` find (in their order; None: the module's system field, then its unique
        fields) and inserts the rest. Each result's ``details`` carries Zoho's ``action`` (``insert`` or
        ``update``), ``duplicate_field`` and the record's ``id``. Every record must hold a value for one of the
        fields (checked before any request): that is what makes a replay after a lost answer update the record
        the lost try made instead of inserting a second one."""
        op = upsert_op(self._crm, module, duplicate_check_fields=duplicate_check_fields, trigger=trigger)
        return await self._bulk.run(op, _rows(records), concurrency=concurrency, on_progress=on_progress)

    def upsert_stream(
        self, module: str, records: Rows, *, duplicate_check_fields: Sequence[str] | None = None,
        trigger: Sequence[str] | None = None, concurrency: int | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[dict[str, Any]]]:  # fmt: skip
        """``upsert`` in constant memory (see ``insert_stream``)."""
        op = upsert_op(self._crm, module, duplicate_check_fields=duplicate_check_fields, trigger=trigger)
        return self._bulk.stream(op, _rows(records), concurrency=concurrency)

    async def delete(
        self, module: str, ids: Iterable[str] | AsyncIterable[str], *, wf_trigger: bool | None = None,
        concurrency: int | None = None, on_progress: Progress | None = None,
    ) -> BulkResult[str]:  # fmt: skip
        """Delete Records: ``DELETE /{module}?ids=...``, 100 ids a request; results matched by id. ``wf_trigger``
        False skips workflows (None: Zoho's default, true). A replay's "record not deleted" is read back."""
        op = delete_op(self._crm, module, wf_trigger=wf_trigger)
        return await self._bulk.run(op, ids, concurrency=concurrency, on_progress=on_progress)

    def delete_stream(
        self, module: str, ids: Iterable[str] | AsyncIterable[str], *, wf_trigger: bool | None = None,
        concurrency: int | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[str]]:  # fmt: skip
        """``delete`` in constant memory (see ``insert_stream``)."""
        return self._bulk.stream(delete_op(self._crm, module, wf_trigger=wf_trigger), ids, concurrency=concurrency)

    async def update_related_by_external_id(
        self,
        module: str,
        record: str,
        related_list: str,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        external: Sequence[str],
        concurrency: int | None = None,
        on_progress: Callable[[Sequence[ItemResult[Any]]], None] | None = None,
    ) -> BulkResult[Mapping[str, Any]]:
        """Update Related Records Using External ID: ``PUT /{module}/{record}/{related_list}`` with X-EXTERNAL.

        Rows go 100 a request, in input order; every row's result comes back in input order. Every row is
        checked before the first request. ``update_related_by_external_id_stream`` does the same in constant
        memory.

        Args:
            module: the parent module, e.g. ``"Contacts"``.
            record: the parent's external value (or record id).
            related_list: e.g. ``"Deals"``.
            rows: the related rows, e.g. ``{"External_Deal_ID": "extdeal3", "Contact_Role": "111..."}``: any
                iterable or async iterable.
            external: the X-EXTERNAL entries, e.g. ``["Contacts.External_Contact_ID", "Deals.External_Deal_ID"]``.
        """
        op = related_update_op(self._crm, module, record, related_list, external)
        return await self._bulk.run(op, rows, concurrency=concurrency, on_progress=on_progress)

    def update_related_by_external_id_stream(
        self,
        module: str,
        record: str,
        related_list: str,
        rows: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
        *,
        external: Sequence[str],
        concurrency: int | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[Mapping[str, Any]]]:
        """``update_related_by_external_id`` for input of any size in constant memory: ``(index, result)`` as each
        request completes (see ``crm.emails.link_deal_stream``); a row that is not a mapping comes out as
        ``INVALID_ITEM`` with nothing sent for it."""
        op = related_update_op(self._crm, module, record, related_list, external)
        return self._bulk.stream(op, rows, concurrency=concurrency)


def system_duplicate_check_field(module: str) -> str:
    """The field Zoho's Upsert Records checks first in ``module`` when no ``duplicate_check_fields`` are given
    (its system duplicate-check field: Contacts and Leads ``Email``, Accounts ``Account_Name``, ...; a custom
    module's ``Name``), as the "Upsert Records" page lists them."""
    return SYSTEM_DUPLICATE_CHECK.get(module, "Name")


def _params(fields: Sequence[str], per_page: int) -> dict[str, str]:
    if isinstance(fields, str) or not fields:
        raise ValueError("fields must be a non-empty list of field API names (Zoho requires it)")
    if len(fields) > MAX_FIELDS:
        raise ValueError(f"Zoho allows at most {MAX_FIELDS} fields, got {len(fields)}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return {"fields": ",".join(fields), "per_page": str(per_page)}


def _rows(records: Rows) -> Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]]:
    """The records as the write ops take them: each op's checker makes every mapping a dict of its own (or
    refuses it), so any mapping may come in."""
    return cast("Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]]", records)


def _more(page: RecordsPage, per_page: int) -> bool:
    """Whether Zoho may have records after ``page``: its ``more_records``, or when a server sends null there, whether
    the page came full (a short page is the last)."""
    more = page.info.more_records
    return more if more is not None else len(page.data) >= per_page
