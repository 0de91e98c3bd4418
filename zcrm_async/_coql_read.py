"""Reading a COQL query's rows: pages by LIMIT/OFFSET up to Zoho's reach, then by key past it.

Zoho's "Query API - Limitations" page: a call answers at most 2,000 rows, and LIMIT/OFFSET reach the first
100,000. A query ordered by id continues past them by key: the same query with ``id > {last id}``, OFFSET back
at 0. Pages of one stretch are asked side by side, in rounds that double (1, 2, 4, ... up to ``concurrency``)
while the rows keep coming, so a short answer costs at most one round of pages past its end, and a long one
runs ``concurrency`` calls at a time; a round's pages are yielded in order and then dropped (memory: one round).

Credits by LIMIT ("Query API - An Overview"): 1-200 rows cost 1 credit, 201-1,000 cost 2, 1,001-2,000 cost 3.
Each page is sent as the operation of its price (``coql.up_to_200``, ``coql.up_to_1000``, ``coql.up_to_2000``
in ``Budget.costs``), so the budget counts what Zoho charges; COQL is one of Zoho's heavy APIs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from ._client import raise_for_status
from ._decode import decode_or_raise
from ._errors import PaginationError
from ._fanout import first_error
from .coql import CoqlPage, Query

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["MAX_ROWS", "REACH", "coql_operation", "iterate", "page"]

MAX_ROWS = 2_000
REACH = 100_000


_decode = msgspec.json.Decoder(CoqlPage).decode
_encode = msgspec.json.Encoder().encode


def coql_operation(limit: int) -> str:
    """The budget's operation for a page of ``limit`` rows, named by the price tier Zoho charges it."""
    return "coql.up_to_200" if limit <= 200 else "coql.up_to_1000" if limit <= 1_000 else "coql.up_to_2000"


async def page(crm: ZohoCRM, select_query: str, *, limit: int) -> CoqlPage:
    """One ``POST /coql`` of ``select_query`` (whose LIMIT is ``limit``: it sets the price)."""
    response = await crm.request(
        "POST", "/coql", operation=coql_operation(limit), content=_encode({"select_query": select_query})
    )
    if response.status == 204:
        return CoqlPage()
    return decode_or_raise(_decode, raise_for_status(response), "Zoho's COQL answer")


async def iterate(crm: ZohoCRM, query: Query, *, page_size: int, concurrency: int) -> AsyncIterator[dict[str, Any]]:
    """Every row of ``query`` (up to ``query.limit``), in the query's order."""
    _check(page_size, concurrency)
    left = query.limit
    after: str | None = None
    while True:
        last: str | None = None
        stretch = _Stretch(crm, query, after, page_size, concurrency)
        async for row in stretch.rows(left):
            last = row.get("id") if isinstance(row.get("id"), str) else last
            if left is not None:
                left -= 1
            yield row
        if not stretch.reached or left == 0:
            return
        if not query.by_id:
            raise PaginationError(
                f"COQL on {query.module}: more than {REACH:,} rows match, the most LIMIT/OFFSET reach; order by "
                "id (the default) to read past them by key"
            )
        if last is None or (after is not None and int(last) <= int(after)):
            raise PaginationError(f"COQL on {query.module}: the key did not advance past {after}; read stopped")
        after = last


class _Stretch:
    """The rows LIMIT/OFFSET reach from one key (``id > after``, or the start)."""

    __slots__ = ("after", "concurrency", "crm", "page_size", "query", "reached")

    def __init__(self, crm: ZohoCRM, query: Query, after: str | None, page_size: int, concurrency: int) -> None:
        self.crm, self.query, self.after = crm, query, after
        self.page_size, self.concurrency = page_size, concurrency
        #: Whether the stretch stopped at Zoho's reach with rows still to come.
        self.reached = False

    async def rows(self, left: int | None) -> AsyncIterator[dict[str, Any]]:
        """The stretch's rows, at most ``left`` (None: all)."""
        offset = 0
        width = 1
        while True:
            offsets = []
            for _ in range(width):
                size = min(self.page_size, REACH - offset, REACH if left is None else left - offset)
                if size < 1:
                    break
                offsets.append((offset, size))
                offset += size
            if not offsets:
                return
            pages = await _round(self.crm, self.query, self.after, offsets)
            for (start, size), current in zip(offsets, pages, strict=True):
                for row in current.data:
                    yield row
                if not current.info.more_records or len(current.data) < size:
                    return
                self.reached = start + size >= REACH
            width = min(width * 2, self.concurrency)


async def _round(crm: ZohoCRM, query: Query, after: str | None, offsets: list[tuple[int, int]]) -> list[CoqlPage]:
    """The pages at ``offsets`` side by side, in order."""
    pages: list[CoqlPage] = [CoqlPage()] * len(offsets)

    async def fetch(number: int, offset: int, size: int) -> None:
        pages[number] = await page(crm, query.text(limit=size, offset=offset, after_id=after), limit=size)

    if len(offsets) == 1:
        await fetch(0, *offsets[0])
        return pages
    try:
        async with anyio.create_task_group() as tg:
            for number, (offset, size) in enumerate(offsets):
                tg.start_soon(fetch, number, offset, size)
    except BaseExceptionGroup as group:
        raise first_error(group) from None
    return pages


def _check(page_size: int, concurrency: int) -> None:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_ROWS:
        raise ValueError(f"page_size must be between 1 and {MAX_ROWS} (Zoho's rows per call)")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError("concurrency must be at least 1")
