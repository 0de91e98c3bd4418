"""Reading records by id, by search, and counting them: Get Record, Get Records by ``ids``, Search Records,
Record Count (Zoho's pages of those names).

- Get Record ``GET /{module}/{id}``: the record, or None when Zoho has no such record (a 204, or 400
  INVALID_DATA pointing at the id in the path: ``details.resource_path_index`` 1).
- By ids: Get Records with ``ids``, 100 ids a call (the most any of Zoho's by-id record calls take), up to
  ``concurrency`` calls side by side; records Zoho does not have are simply not answered.
- Search ``GET /{module}/search`` with exactly one of ``criteria``, ``email``, ``phone``, ``word`` (Zoho would
  take the first of them by its own precedence and ignore the rest; passing two is a mistake said at once).
  Zoho answers at most 2,000 records a search (LIMIT_REACHED past them): the read yields those, then raises
  ``PaginationError`` if more match, rather than end as if it had all (COQL reads past them). Page 1 first, then
  the rest of the first 2,000 side by side, as Get Records does.
- Record Count ``GET /{module}/actions/count`` -> ``{"count": N}``: a number in Zoho's doc sample, a string in
  its OpenAPI file; both are read. Zoho's count lags new records by 1-10 minutes.

Credits: 1 a call. For Record Count that is a choice: Zoho's "Record Count in a Module" page states no cost, and
"Zoho CRM API Limits" prices a call at 1 credit unless it names it dearer; the one figure of 50 seen is a single
secondary source nobody could check against Zoho's table. It costs ``Budget.default_cost`` like the rest until
``Budget.costs["records.count"]`` says otherwise (an under-count is corrected once Zoho sends its credits remaining).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import msgspec

from ._client import raise_for_status
from ._decode import decode_or_raise
from ._errors import InvalidRequestError, PaginationError
from ._fanout import first_error
from .models import RecordsPage, decode_records_page
from .outcomes import INVALID_DATA
from .search import Criteria
from .validation import check_numeric_id

if TYPE_CHECKING:
    from ._client import ZohoCRM
    from ._transport import Response

__all__ = ["count", "get", "get_many", "search"]

MAX_PER_PAGE = 200
MAX_FIELDS = 50
MAX_IDS = 100
SEARCH_REACH = 2_000


class _Count(msgspec.Struct, frozen=True):
    count: int | str


_decode_count = msgspec.json.Decoder(_Count).decode


def _count_of(content: bytes) -> int:
    return int(_decode_count(content).count)  # a count Zoho sends as text that is no number: ValueError


def _fields_param(fields: Sequence[str] | None, *, required: bool) -> dict[str, str]:
    if fields is None and not required:
        return {}
    if fields is None or isinstance(fields, str) or not fields:
        raise ValueError("fields must be a non-empty list of field API names")
    if len(fields) > MAX_FIELDS:
        raise ValueError(f"Zoho allows at most {MAX_FIELDS} fields, got {len(fields)}")
    if any(not isinstance(name, str) or not name or "," in name for name in fields):
        raise ValueError("each field is one API name (no commas)")
    return {"fields": ",".join(fields)}


def _page(response: Response, what: str) -> RecordsPage:
    if response.status == 204:
        return RecordsPage()
    return decode_or_raise(decode_records_page, raise_for_status(response), f"Zoho's {what} answer")


# -- Get Record ------------------------------------------------------------------------------------------


async def get(crm: ZohoCRM, module: str, record_id: str, *, fields: Sequence[str] | None) -> dict[str, Any] | None:
    """One record by id, or None when Zoho has none by that id."""
    check_numeric_id(record_id, "record_id")
    params = _fields_param(fields, required=False)
    response = await crm.request("GET", f"/{_module(module)}/{record_id}", operation="records.get", params=params)
    try:
        page = _page(response, "Get Record")
    except InvalidRequestError as exc:
        if exc.code == INVALID_DATA and exc.details.get("resource_path_index") == 1:
            return None
        raise
    return page.data[0] if page.data else None


# -- Get Records by ids ----------------------------------------------------------------------------------


async def get_many(
    crm: ZohoCRM, module: str, ids: Iterable[str], *, fields: Sequence[str], concurrency: int
) -> AsyncIterator[dict[str, Any]]:
    """The records of ``ids`` that Zoho has, 100 ids a call, ``concurrency`` calls at a time (constant memory)."""
    params = _fields_param(fields, required=True)
    path = f"/{_module(module)}"
    if isinstance(ids, str):
        raise TypeError("ids is a collection of record ids, not one string")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if isinstance(ids, Sequence):  # known in full: every id checked before the first call
        for index, record_id in enumerate(ids):
            check_numeric_id(record_id, "ids", index)

    async def fetch(chunk: list[str], into: list[RecordsPage], at: int) -> None:
        response = await crm.request(
            "GET", path, operation="records.list", params={**params, "ids": ",".join(chunk)}
        )
        into[at] = _page(response, "Get Records")

    for round_ in _rounds(ids, concurrency):
        pages = [RecordsPage()] * len(round_)
        try:
            async with anyio.create_task_group() as tg:
                for at, chunk in enumerate(round_):
                    tg.start_soon(fetch, chunk, pages, at)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        for page in pages:
            for record in page.data:
                yield record


def _rounds(ids: Iterable[str], concurrency: int) -> Iterable[list[list[str]]]:
    """Rounds of up to ``concurrency`` chunks of 100 ids each, every id checked as it is taken."""
    round_: list[list[str]] = []
    chunk: list[str] = []
    for index, record_id in enumerate(ids):
        chunk.append(check_numeric_id(record_id, "ids", index))
        if len(chunk) == MAX_IDS:
            round_.append(chunk)
            chunk = []
            if len(round_) == concurrency:
                yield round_
                round_ = []
    if chunk:
        round_.append(chunk)
    if round_:
        yield round_


# -- Search Records --------------------------------------------------------------------------------------


def search_params(
    criteria: Criteria | str | None, email: str | None, phone: str | None, word: str | None
) -> dict[str, str]:
    """The one search parameter Zoho is given; ``ValueError`` for none, several, or an empty one."""
    given = {
        name: value
        for name, value in (("criteria", criteria), ("email", email), ("phone", phone), ("word", word))
        if value is not None
    }
    if len(given) != 1:
        raise ValueError("give exactly one of criteria, email, phone or word")
    (name, value), = given.items()
    text = str(value) if isinstance(value, Criteria) else value
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} is empty")
    if name == "word" and len(text.strip()) < 2:
        raise ValueError("a word search needs at least 2 characters (Zoho's rule)")
    if name == "criteria" and not (text.startswith("(") and text.endswith(")")):
        raise ValueError("criteria are bracketed: (Field:operator:value); build them with zcrm_async.search")
    return {name: text}


async def search(
    crm: ZohoCRM, module: str, search: dict[str, str], *, fields: Sequence[str] | None, per_page: int
) -> AsyncIterator[dict[str, Any]]:
    """Every record the search finds, up to Zoho's 2,000; ``PaginationError`` after them if more match."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    params = {**search, **_fields_param(fields, required=False), "per_page": str(per_page)}
    path = f"/{_module(module)}/search"

    async def fetch(number: int, into: list[RecordsPage], at: int) -> None:
        response = await crm.request(
            "GET", path, operation="records.search", params={**params, "page": str(number)}
        )
        into[at] = _page(response, "Search Records")

    last_page = -(-SEARCH_REACH // per_page)  # the last page holding any of the first 2,000
    first = [RecordsPage()]
    await fetch(1, first, 0)
    pages = first
    if first[0].info.more_records and last_page > 1:
        pages = first + [RecordsPage()] * (last_page - 1)
        try:
            async with anyio.create_task_group() as tg:
                for number in range(2, last_page + 1):
                    tg.start_soon(fetch, number, pages, number - 1)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
    for page in pages:
        for record in page.data:
            yield record
        if not page.info.more_records or not page.data:
            return
    raise PaginationError(
        f"Search Records in {module}: more than {SEARCH_REACH:,} records match, the most Zoho's search "
        "answers; narrow the search, or read them with COQL (crm.records.coql)"
    )


# -- Record Count ----------------------------------------------------------------------------------------


async def count(crm: ZohoCRM, module: str, params: dict[str, str]) -> int:
    """How many records match (all of the module's with no parameter)."""
    response = await crm.request("GET", f"/{_module(module)}/actions/count", operation="records.count", params=params)
    if response.status == 204:
        return 0
    return decode_or_raise(_count_of, raise_for_status(response), "Zoho's record count")


def _module(module: str) -> str:
    if not isinstance(module, str) or not module.replace("_", "").isalnum() or not module.isascii():
        raise ValueError(f"module {module!r} is not a Zoho module API name")
    return module
