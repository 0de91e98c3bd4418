"""FakeZoho's record endpoints: Get Records and Update Related Records using External ID."""

from __future__ import annotations

import binascii
import datetime
import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_endpoint import MODULES, body_items, versioned
from ._fake_limits import CREDIT_WINDOW
from ._fake_metadata import DEAL_FIELDS
from ._fake_modules import SCOPE_MISMATCH
from ._fake_wire import NOT_FOUND, error, item_error, item_status, json_response, success
from ._fake_world import Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

_RELATABLE = ("Contacts", "Deals")


# -- Get Records -----------------------------------------------------------------------------------------


@versioned()
async def get_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/{module}?fields=..: page/per_page for the first 2,000, page_token beyond.

    An unknown module is 400 INVALID_MODULE ``{"resource_path_index": 0}``: record.json declares Get Records'
    refusals only inside its 200 (``oneOf`` Response_Wrapper and API_Exception, whose codes name both
    INVALID_MODULE and INVALID_URL_PATTERN), while Record Count of the same path (record_count.json: 400
    Invalid_Module_API_Exception) and Zoho's pages for the module endpoints answer 400 INVALID_MODULE. The fake
    answers the 400, with record.json's message ("The module name given seems to be invalid"; record_count.json
    writes it lower-case); the client reads the 200 form as the same refusal.
    """
    module = MODULES.get(request.match_info["module"].lower())
    if module is None:
        return error(400, "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0})
    from ._fake_deal_contacts import grants_read  # here: _fake_deal_contacts needs this module's project

    if not grants_read(fake, module):  # the module's READ scope, as Get Record asks it
        return json_response(SCOPE_MISMATCH, 401)
    query = _RecordsQuery.parse(request.query)
    if isinstance(query, web.Response):
        return query
    offset = _records_offset(fake, module, query)
    if isinstance(offset, web.Response):
        return offset
    records = fake.world.records_of(module)
    if query.ids is not None:
        records = [record for record in records if record.id in query.ids]
    page = _slice(records, offset, query.per_page, query.descending)
    if not page:
        return web.Response(status=204)
    more = offset + len(page) < len(records)
    expiry = time.time() + CREDIT_WINDOW
    info = {
        "per_page": query.per_page,
        "count": len(page),
        "page": offset // query.per_page + 1,
        "sort_by": query.sort_by,
        "sort_order": "desc" if query.descending else "asc",
        "more_records": more,
        "next_page_token": _page_token(fake, module, query, offset + len(page)) if more else None,
        "previous_page_token": _page_token(fake, module, query, offset - query.per_page) if offset else None,
        "page_token_expiry": datetime.datetime.fromtimestamp(expiry, datetime.UTC).isoformat(timespec="seconds"),
    }
    return json_response({"data": [project(r, query.fields, fake.world) for r in page], "info": info})


def _records_offset(fake: FakeApp, module: str, query: _RecordsQuery) -> int | web.Response:
    if query.page_token is None:
        if query.page * query.per_page > 2000:
            return error(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "cannot fetch more than 2000 records using page; use page_token",
                {"limit": 2000},
            )
        return (query.page - 1) * query.per_page
    decoded = _read_page_token(fake.index_key, query.page_token)
    if decoded is None:
        return error(400, "INVALID_DATA", "invalid page_token", {"param": "page_token"})
    offset, expiry, binding = decoded
    if binding != _binding(fake.index_key, module, query):
        return error(
            400,
            "TOKEN_BOUND_DATA_MISMATCH",
            "the page_token is bound to other parameters",
            {"param": "page_token"},
        )
    if expiry <= fake.config.clock():
        return error(400, "EXPIRED_VALUE", "the page_token has expired", {"param": "page_token"})
    if offset >= 100_000:
        return error(400, "PAGINATION_LIMIT_EXCEEDED", "cannot fetch more than 100000 records", {"limit": 100_000})
    return offset


def _binding(key: bytes, module: str, query: _RecordsQuery) -> str:
    """A page token is bound to the module, fields, per_page and sort it was issued for."""
    raw = f"{module}|{','.join(query.fields)}|{query.per_page}|{query.sort_by}|{query.descending}"
    return hashlib.blake2b(raw.encode(), key=key, digest_size=8).hexdigest()


def _page_token(fake: FakeApp, module: str, query: _RecordsQuery, offset: int) -> str:
    expiry = int(fake.config.clock() + CREDIT_WINDOW)
    body = f"{max(offset, 0)}.{expiry}.{_binding(fake.index_key, module, query)}"
    sig = hashlib.blake2b(body.encode(), key=fake.index_key, digest_size=8).hexdigest()
    return binascii.hexlify(f"{body}.{sig}".encode()).decode()


def _read_page_token(key: bytes, token: str) -> tuple[int, float, str] | None:
    try:
        offset, expiry, binding, sig = binascii.unhexlify(token).decode().split(".")
    except (ValueError, UnicodeDecodeError):
        return None
    body = f"{offset}.{expiry}.{binding}"
    if hashlib.blake2b(body.encode(), key=key, digest_size=8).hexdigest() != sig:
        return None
    return int(offset), float(expiry), binding


_FIELDS: dict[str, dict[str, Callable[[Record], Any]]] = {
    "Contacts": {
        "Last_Name": lambda r: r.name,
        "Full_Name": lambda r: r.name,
        "Email": lambda r: r.email,
        "External_Contact_ID": lambda r: r.external_id,
    },
    "Deals": {
        "Deal_Name": lambda r: r.name,
        "Stage": lambda r: r.stage,
        "External_Deal_ID": lambda r: r.external_id,
    },
    "Leads": {"Last_Name": lambda r: r.name, "Full_Name": lambda r: r.name, "Email": lambda r: r.email},
    "Accounts": {"Account_Name": lambda r: r.name},
}


def known_fields(module: str) -> frozenset[str]:
    """The fields this fake serves for every record of a module (``id`` included)."""
    looked_up = DEAL_FIELDS if module == "Deals" else {}
    return frozenset({"id", *_FIELDS.get(module, {}), *looked_up})


def is_field(world: World, module: str, name: str) -> bool:
    """Whether ``name`` is a field of the module: one the fake serves, or one a write set on some record."""
    return name in known_fields(module) or any(name in record.fields for record in world.records_of(module))


def project(record: Record, fields: tuple[str, ...] | None, world: World) -> dict[str, Any]:
    """The record's id and the asked fields this fake knows or a write set (others are left out; None: all)."""
    getters = _FIELDS.get(record.module, {})
    looked_up = DEAL_FIELDS if record.module == "Deals" else {}
    if fields is None:
        fields = (*getters, *looked_up, *record.fields)
    out: dict[str, Any] = {"id": record.id}
    for field in fields:
        getter = getters.get(field)
        if getter is not None:
            out[field] = getter(record)
        elif field in looked_up:
            out[field] = looked_up[field](record, world)
        elif field in record.fields:  # a field a write set (First_Name, a custom field, ...)
            out[field] = record.fields[field]
    return out


def _slice(records: list[Record], offset: int, count: int, descending: bool) -> list[Record]:
    if not descending:
        return records[offset : offset + count]
    end = len(records) - offset
    return records[max(end - count, 0) : max(end, 0)][::-1]


class _RecordsQuery:
    """Get Records' query parameters, validated."""

    __slots__ = ("descending", "fields", "ids", "page", "page_token", "per_page", "sort_by")

    def __init__(self) -> None:
        self.fields: tuple[str, ...] = ()
        #: Get Records' ``ids``: only these records (None: all).
        self.ids: frozenset[str] | None = None
        self.per_page = 200
        self.page = 1
        self.page_token: str | None = None
        self.sort_by = "id"
        self.descending = True

    @classmethod
    def parse(cls, query: Any) -> _RecordsQuery | web.Response:
        q = cls()
        raw_fields = query.get("fields")
        if not raw_fields:
            return error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
        q.fields = tuple(f for f in raw_fields.split(",") if f)
        if len(q.fields) > 50:
            return error(
                400,
                "LIMIT_EXCEEDED",
                "the number of fields exceeds the limit",
                {"param": "fields", "limit": 50},
            )
        if ("page" in query and "page_token" in query) or ("cvid" in query and "sort_by" in query):
            return error(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity during processing", {})
        try:
            q.per_page = int(query.get("per_page", 200))
            q.page = int(query.get("page", 1))
        except ValueError:
            return error(400, "INVALID_DATA", "invalid data", {"param": "page"})
        if not 1 <= q.per_page <= 200 or q.page < 1:
            return error(400, "INVALID_DATA", "invalid data", {"param": "per_page" if q.page >= 1 else "page"})
        q.page_token = query.get("page_token")
        if "ids" in query:
            q.ids = frozenset(i for i in query["ids"].split(",") if i)
        q.sort_by = query.get("sort_by", "id")
        if q.sort_by not in ("id", "Created_Time", "Modified_Time") or query.get("sort_order", "desc") not in (
            "asc",
            "desc",
        ):
            return error(400, "INVALID_DATA", "invalid data", {"param": "sort_by"})
        q.descending = query.get("sort_order", "desc") == "desc"
        return q


# -- Update Related Records using External ID --------------------------------------------------------------


@versioned()
async def update_related(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """PUT /crm/{v}/{module}/{id_or_external}/{related_list} with optional X-EXTERNAL."""
    module = MODULES.get(request.match_info["module"].lower())
    related = MODULES.get(request.match_info["related"].lower())
    if module not in _RELATABLE or related not in _RELATABLE or module == related:
        return json_response(NOT_FOUND, 404)
    external = _parse_external(request.headers.get("X-EXTERNAL", ""))
    ref = request.match_info["record_id"]
    parent = fake.world.by_external(module, ref) if module in external else fake.world.record(ref, module)
    if parent is None:
        field = external.get(module, "id")
        return error(400, "INVALID_DATA", "the id given seems to be invalid", {"api_name": field})
    items = await body_items(request, "data", 100)
    if isinstance(items, web.Response):
        return items
    world, field_of = fake.world, external.get(related)
    results = [_relate_item(world, parent, related, field_of, item, i) for i, item in enumerate(items)]
    return item_status(results, "data", nest_failures=False)


def _relate_item(world: World, parent: Record, related: str, field: str | None, item: Any, i: int) -> dict[str, Any]:
    key = field or "id"
    value = item.get(key) if isinstance(item, dict) else None
    if value in (None, ""):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", key, i, root="data")
    other = world.by_external(related, str(value)) if field else world.record(str(value), related)
    if other is None:
        return item_error("INVALID_DATA", "the id given seems to be invalid", key, i, root="data")
    contact, deal = (parent, other) if parent.module == "Contacts" else (other, parent)
    world.associate(contact.id, deal.id)
    details = {field: value, "id": other.id} if field else {"id": other.id}
    return success(details, "relation added")


def _parse_external(header: str) -> dict[str, str]:
    """X-EXTERNAL "Contacts.External_Contact_ID,Deals.External_Deal_ID" -> {module: field}."""
    fields: dict[str, str] = {}
    for part in header.split(","):
        module, _, field = part.strip().partition(".")
        canonical = MODULES.get(module.lower())
        if canonical and field:
            fields[canonical] = field
    return fields
