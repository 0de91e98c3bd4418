"""FakeZoho's COQL endpoint: ``POST /crm/{v}/coql`` with ``{"select_query": "..."}`` (Zoho's OpenAPI file for
COQL and its "Query API" pages).

- The body is a JSON object with ``select_query`` (required, a string: else 400 MANDATORY_NOT_FOUND
  ``{"api_name": "select_query"}``); ``include_meta`` is not served (400 INVALID_DATA naming it).
- The query is parsed by ``_fake_coql_parser`` (its docstring has the grammar); fields must be ones the fake
  serves for the module or a write set on one of its records (else INVALID_QUERY "column given seems to be
  invalid" ``{column_name, clause}``), an unknown module is INVALID_QUERY ``{"module": name}``.
- Limits ("Query API - Limitations"): at most 50 selected columns, 25 criteria, 50 values in an ``in``, 10 ORDER
  BY fields (LIMIT_EXCEEDED), a column selected twice is DUPLICATE_DATA; LIMIT 1..2,000 (0 is INVALID_DATA "limit
  should be greater than 0", over 2,000 LIMIT_EXCEEDED); LIMIT and OFFSET reach the first 100,000 rows: a query
  whose OFFSET + LIMIT passes them is LIMIT_EXCEEDED ``{"by": "offset", "limit": 100000}`` (the page names the
  reach, not the answer past it: the code is the one its error table gives for "Max records limit exceeded").
- Default LIMIT 200, OFFSET 0, order id ascending. ``id`` is always answered. Comparisons follow SQL: a null
  value matches only ``is null`` (and ``not in``/``!=`` never match it); ``like`` takes ``%`` as any run of
  characters and ignores case; a lookup compares by its ``id``; ``id`` compares as a number.
- Answer ``{"data": [...], "info": {"count", "more_records"}}``; no row -> 204. ``more_records`` says whether rows
  follow this page, even past the 100,000 reach (a client then continues by key: ``id > last``).
- Credits by LIMIT ("Query API - An Overview"): 1-200 -> 1, 201-1,000 -> 2, 1,001-2,000 -> 3, charged before the
  query runs (a refused query costs its LIMIT's tier too; one that does not parse costs 1). COQL is one of the
  "complex" APIs of the heavy sub-concurrency.
- Scope: a read scope of the module (``ZohoCRM.modules.{module}.READ`` or wider), else 401
  OAUTH_SCOPE_MISMATCH. Zoho's pages also name ``ZohoCRM.coql.READ`` and its OpenAPI file does not: the fake
  accepts a token either way.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ._fake_coql_parser import Comparison, CoqlError, Group, Select, parse
from ._fake_deal_contacts import grants_read
from ._fake_endpoint import MODULES, versioned
from ._fake_modules import SCOPE_MISMATCH
from ._fake_records import is_field, project
from ._fake_wire import DECODE, error, json_response
from ._fake_world import Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

MAX_LIMIT = 2_000
REACH = 100_000
MAX_COLUMNS, MAX_CRITERIA, MAX_IN_VALUES, MAX_ORDER = 50, 25, 50, 10


def credits_for_limit(limit: int) -> int:
    """Zoho's COQL price by LIMIT: 1-200 -> 1, 201-1,000 -> 2, 1,001-2,000 -> 3."""
    return 1 if limit <= 200 else 2 if limit <= 1_000 else 3


def coql_cost(body: bytes) -> int:
    """The credits a COQL request costs, read from its body before it runs (1 when the query does not parse)."""
    try:
        query = DECODE(body).get("select_query")
        return credits_for_limit(parse(query).limit) if isinstance(query, str) else 1
    except (msgspec.DecodeError, AttributeError, CoqlError):
        return 1


@versioned()
async def coql(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /crm/{v}/coql: run one select query over the fake's world."""
    try:
        body = DECODE(await request.read())
    except msgspec.DecodeError:
        return error(400, "INVALID_DATA", "body is not a valid JSON", {})
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return error(400, "MANDATORY_NOT_FOUND", "required field not found", {"api_name": "select_query"})
    if "include_meta" in body:
        return error(400, "INVALID_DATA", "include_meta is not served by this fake", {"api_name": "include_meta"})
    try:
        query = parse(text)
        module = _checked(query, fake.world)
    except CoqlError as refused:
        return error(400, refused.code, refused.message, refused.details)
    if not grants_read(fake, module):
        return json_response(SCOPE_MISMATCH, 401)
    rows, more = _run(fake.world, module, query)
    if not rows:
        return web.Response(status=204)
    data = [_row(record, query.fields, fake.world) for record in rows]
    return json_response({"data": data, "info": {"count": len(data), "more_records": more}})


# -- checks -----------------------------------------------------------------------------------------------


def _checked(query: Select, world: World) -> str:
    """The module's canonical name, once every limit and field of the query is checked."""
    module = MODULES.get(query.module.lower())
    if module is None:
        raise CoqlError("INVALID_QUERY", "invalid query formed", {"module": query.module})
    if len(query.fields) > MAX_COLUMNS:
        raise _limit("select", MAX_COLUMNS)
    if len(set(query.fields)) != len(query.fields):
        raise CoqlError("DUPLICATE_DATA", "duplicate data", {"clause": "select"})
    comparisons = list(_comparisons(query.where))
    if len(comparisons) > MAX_CRITERIA:
        raise _limit("where", MAX_CRITERIA)
    if any(c.op in ("in", "not in") and len(c.value) > MAX_IN_VALUES for c in comparisons):
        raise _limit("in", MAX_IN_VALUES)
    if len(query.order_by) > MAX_ORDER:
        raise _limit("order by", MAX_ORDER)
    named = [("select", f) for f in query.fields] + [("where", c.field) for c in comparisons]
    for clause, field in named + [("order by", f) for f, _ in query.order_by]:
        if not is_field(world, module, field):
            message = "column given seems to be invalid"
            raise CoqlError("INVALID_QUERY", message, {"column_name": field, "clause": clause})
    if query.limit < 1:
        raise CoqlError("INVALID_DATA", "limit should be greater than 0", {"limit": query.limit})
    if query.limit > MAX_LIMIT:
        raise _limit("limit", MAX_LIMIT)
    if query.offset + query.limit > REACH:
        raise CoqlError("LIMIT_EXCEEDED", "Max records limit exceeded", {"by": "offset", "limit": REACH})
    return module


def _limit(clause: str, limit: int) -> CoqlError:
    return CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"by": clause, "limit": limit})


def _comparisons(node: Comparison | Group) -> Iterator[Comparison]:
    if isinstance(node, Comparison):
        yield node
    else:
        yield from _comparisons(node.left)
        yield from _comparisons(node.right)


# -- running the query ------------------------------------------------------------------------------------


def _run(world: World, module: str, query: Select) -> tuple[list[Record], bool]:
    """The page of rows, and whether more match after it."""
    candidates = _candidates(world, module, query)
    if query.order_by == (("id", True),):
        candidates = candidates[::-1]
    matches = (r for r in candidates if _matches(r, query.where, world))
    if query.order_by and query.order_by not in ((("id", False),), (("id", True),)):
        ordered = _sorted(list(matches), query.order_by, world)
        page = ordered[query.offset : query.offset + query.limit]
        return page, query.offset + query.limit < len(ordered)
    page = []
    for index, record in enumerate(matches):
        if index >= query.offset + query.limit:
            return page, True
        if index >= query.offset:
            page.append(record)
    return page, False


def _candidates(world: World, module: str, query: Select) -> list[Record]:
    """The module's records in id order, starting past a top-level ``id >`` bound when there is one (keyset
    paging stays as cheap as Zoho's index makes it)."""
    records = world.records_of(module)
    bound = _lower_id_bound(query.where)
    if bound is None:
        return records
    start = bisect.bisect_right(records, bound, key=lambda r: int(r.id))
    return records[start:]


def _lower_id_bound(node: Comparison | Group) -> int | None:
    if isinstance(node, Comparison):
        if node.field == "id" and node.op in (">", ">=") and _as_int(node.value) is not None:
            value = _as_int(node.value)
            assert value is not None
            return value if node.op == ">" else value - 1
        return None
    if node.op != "and":
        return None
    bounds = [b for b in (_lower_id_bound(node.left), _lower_id_bound(node.right)) if b is not None]
    return max(bounds) if bounds else None


def _value(record: Record, field: str, world: World) -> Any:
    if field == "id":
        return int(record.id)
    value = project(record, (field,), world).get(field)
    return value.get("id") if isinstance(value, dict) else value


def _matches(record: Record, node: Comparison | Group, world: World) -> bool:
    if isinstance(node, Group):
        left = _matches(record, node.left, world)
        if node.op == "and":
            return left and _matches(record, node.right, world)
        return left or _matches(record, node.right, world)
    value = _value(record, node.field, world)
    if node.op == "is null":
        return value is None or value == ""
    if node.op == "is not null":
        return not (value is None or value == "")
    if value is None:
        return False
    return _compare(value, node.op, node.value)


def _compare(value: Any, op: str, operand: Any) -> bool:
    if op in ("in", "not in"):
        found = any(_equal(value, item) for item in operand)
        return found if op == "in" else not found
    if op in ("like", "not like"):
        pattern = "".join(".*" if part == "%" else re.escape(part) for part in re.split(r"(%)", operand))
        hit = re.fullmatch(pattern, str(value), re.IGNORECASE | re.DOTALL) is not None
        return hit if op == "like" else not hit
    if op in ("between", "not between"):
        low, high = operand
        inside = _order(value, low) >= 0 and _order(value, high) <= 0
        return inside if op == "between" else not inside
    if op == "=":
        return _equal(value, operand)
    if op == "!=":
        return not _equal(value, operand)
    order = _order(value, operand)
    return {"<": order < 0, ">": order > 0, "<=": order <= 0, ">=": order >= 0}[op]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _equal(value: Any, operand: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value == _as_int(operand)
    return bool(value == operand)


def _order(value: Any, operand: Any) -> int:
    """-1, 0 or 1; values of different kinds compare as text."""
    if isinstance(value, int) and _as_int(operand) is not None:
        other: Any = _as_int(operand)
    elif isinstance(value, (int, float)) and isinstance(operand, (int, float)):
        other = operand
    else:
        value, other = str(value), str(operand)
    return int(value > other) - int(value < other)


def _sorted(records: list[Record], order: tuple[tuple[str, bool], ...], world: World) -> list[Record]:
    """Stable sorts from the last key to the first; nulls sort last whatever the direction."""
    keyed = [(record, [_value(record, name, world) for name, _ in order]) for record in records]
    for position, (_, descending) in reversed(list(enumerate(order))):
        present = [pair for pair in keyed if pair[1][position] is not None]
        absent = [pair for pair in keyed if pair[1][position] is None]
        present.sort(key=lambda pair: _sort_key(pair[1][position]), reverse=descending)
        keyed = present + absent
    return [record for record, _ in keyed]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, (int, float)) else (1, str(value))


def _row(record: Record, fields: tuple[str, ...], world: World) -> dict[str, Any]:
    return project(record, fields, world)
