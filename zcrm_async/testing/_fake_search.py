"""FakeZoho's Search Records and Record Count (Zoho's pages "Search Records" and "Record Count in a Module").

Search ``GET /crm/{v}/{module}/search``:

- One of ``criteria``, ``email``, ``phone``, ``word``, taken in that precedence when several are given (the
  page's rule); none -> 400 EXPECTED_PARAM_MISSING (the page's code; the OpenAPI file's list of codes is the
  one shared by every record endpoint). ``word`` needs 2 characters (else 400 INVALID_DATA).
- ``criteria`` is ``(Field:operator:value)``, grouped as ``((A)and(B))`` or with ``or``; operators equals,
  not_equal, starts_with, in, greater_than, greater_equal, less_than, less_equal, between; ``\\`` escapes the
  next character in a value; ``in`` up to 100 values, ``between`` two. Criteria that do not parse, an unknown
  operator or field: 400 INVALID_QUERY "invalid query formed" with ``details.reason``. More than 15 criteria is
  LIMIT_EXCEEDED (the page says 10, Zoho's own example answer "exceeds the limit 15": both are accepted).
- Matching: equals and starts_with ignore case (Zoho's search does); numbers compare as numbers, the rest as
  text; ``email`` matches the Email field, ``phone`` the Phone field (no record here has one), ``word`` any
  text field containing it, ignoring case.
- ``per_page`` 1..200 (200), ``page`` from 1; Zoho answers at most 2,000 records a search: a page past them is
  400 LIMIT_REACHED ``{"limit": 2000}``. ``fields`` optional. No match -> 204. Records in id order.
- Scope: the module's read scope and ``ZohoSearch.securesearch.READ`` (or ``.ALL``), else 401
  OAUTH_SCOPE_MISMATCH (``FakeConfig.scope`` None grants every scope).

Count ``GET /crm/{v}/{module}/actions/count``: the same search parameters (or none: every record) ->
``{"count": N}`` (a number, as Zoho's doc sample; its OpenAPI file says a string). ``cvid`` with a search
parameter -> 400 AMBIGUITY_DURING_PROCESSING in record_count.json's shape; this fake has no custom views, so
any cvid is 400 INVALID_DATA ``{"param_name": "cvid"}``. Unknown module -> 400 INVALID_MODULE.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_deal_contacts import grants_read
from ._fake_endpoint import MODULES, versioned
from ._fake_modules import SCOPE_MISMATCH, granted
from ._fake_records import is_field, project
from ._fake_wire import error, json_response
from ._fake_world import Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

MAX_PER_PAGE, REACH, MAX_CRITERIA, MAX_IN = 200, 2_000, 15, 100
_PARAMS = ("criteria", "email", "phone", "word")
_OPERATORS = {
    "equals", "not_equal", "starts_with", "in", "greater_than", "greater_equal", "less_than", "less_equal", "between",
}  # fmt: skip
_INVALID = "invalid query formed"

Match = Callable[[Record, World], bool]


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class _Leaf:
    field: str
    op: str
    values: tuple[str, ...]


# -- the endpoints ----------------------------------------------------------------------------------------


@versioned()
async def search_records(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/{module}/search?criteria=..|email=..|phone=..|word=..[&fields&page&per_page]"""
    module = MODULES.get(request.match_info["module"].lower())
    if module is None:
        return _invalid_module()
    if not grants_read(fake, module) or not _grants_search(fake):
        return json_response(SCOPE_MISMATCH, 401)
    query = request.query
    if not any(name in query for name in _PARAMS):
        return error(400, "EXPECTED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "criteria"})
    try:
        per_page, page = int(query.get("per_page", MAX_PER_PAGE)), int(query.get("page", 1))
    except ValueError:
        return error(400, "INVALID_DATA", "invalid data", {"param_name": "page"})
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        return error(400, "INVALID_DATA", "invalid data", {"param_name": "per_page" if page >= 1 else "page"})
    if page * per_page > REACH and (page - 1) * per_page >= REACH:
        return error(400, "LIMIT_REACHED", "maximum response iteration limit reached", {"limit": REACH})
    try:
        match = _matcher(fake.world, module, query)
    except _Refused as refused:
        return _refusal(refused)
    found = [record for record in fake.world.records_of(module) if match(record, fake.world)]
    start = (page - 1) * per_page
    rows = found[start : min(start + per_page, REACH)]
    if not rows:
        return web.Response(status=204)
    fields = tuple(f for f in query.get("fields", "").split(",") if f) or None
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": start + len(rows) < len(found)}
    return json_response({"data": [project(r, fields, fake.world) for r in rows], "info": info})


@versioned()
async def record_count(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/{module}/actions/count[?criteria=..|email=..|phone=..|word=..|cvid=..]"""
    module = MODULES.get(request.match_info["module"].lower())
    if module is None:
        return _invalid_module()
    if not grants_read(fake, module) or not _grants_search(fake):
        return json_response(SCOPE_MISMATCH, 401)
    query = request.query
    searched = [name for name in _PARAMS if name in query]
    if "cvid" in query and searched:
        message = "Please use either Cvid or Search Params. Combination of both the params is not allowed"
        details = {"ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": searched[0]}]}
        return error(400, "AMBIGUITY_DURING_PROCESSING", message, details)
    if "cvid" in query:
        return error(400, "INVALID_DATA", "invalid data", {"param_name": "cvid"})
    try:
        match = _matcher(fake.world, module, query) if searched else None
    except _Refused as refused:
        return _refusal(refused)
    records = fake.world.records_of(module)
    total = len(records) if match is None else sum(1 for r in records if match(r, fake.world))
    return json_response({"count": total})


def _invalid_module() -> web.Response:
    return error(400, "INVALID_MODULE", "The module name given seems to be invalid", {"resource_path_index": 0})


def _refusal(refused: _Refused) -> web.Response:
    if refused.code == "LIMIT_EXCEEDED":
        return error(400, "LIMIT_EXCEEDED", "Record count exceeded", {"reason": refused.reason})
    if refused.code == "INVALID_DATA":
        return error(400, "INVALID_DATA", "invalid data", {"param_name": refused.reason})
    return error(400, "INVALID_QUERY", _INVALID, {"reason": refused.reason})


def _grants_search(fake: FakeApp) -> bool:
    scopes = granted(fake)
    return scopes is None or bool(
        {s.lower() for s in scopes} & {"zohosearch.securesearch.read", "zohosearch.securesearch.all"}
    )


# -- what a search matches --------------------------------------------------------------------------------


def _matcher(world: World, module: str, query: Any) -> Match:
    """The predicate of the search parameter that takes precedence."""
    if "criteria" in query:
        tree = _Criteria(query["criteria"]).parse()
        for leaf in _leaves(tree):
            if not is_field(world, module, leaf.field):
                raise _Refused("INVALID_QUERY", f"unknown field {leaf.field}")
        return lambda record, world: _evaluate(tree, record, world)
    if "email" in query:
        wanted = query["email"].lower()
        return lambda record, world: (_text(record, "Email", world) or "").lower() == wanted
    if "phone" in query:
        phone = query["phone"]
        return lambda record, world: _text(record, "Phone", world) == phone
    word = query["word"].strip().lower()
    if len(word) < 2:
        raise _Refused("INVALID_DATA", "word")
    return lambda record, world: any(
        isinstance(value, str) and word in value.lower() for value in project(record, None, world).values()
    )


def _text(record: Record, field: str, world: World) -> Any:
    value = project(record, (field,), world).get(field)
    return value.get("id") if isinstance(value, dict) else value


def _leaves(node: Any) -> list[_Leaf]:
    if isinstance(node, _Leaf):
        return [node]
    return [leaf for part in node[1] for leaf in _leaves(part)]


def _evaluate(node: Any, record: Record, world: World) -> bool:
    if isinstance(node, _Leaf):
        return _leaf_matches(node, record, world)
    op, parts = node
    results = (_evaluate(part, record, world) for part in parts)
    return all(results) if op == "and" else any(results)


def _leaf_matches(leaf: _Leaf, record: Record, world: World) -> bool:
    value = record.id if leaf.field == "id" else _text(record, leaf.field, world)
    if value is None:
        return leaf.op == "not_equal"
    text = str(value)
    first = leaf.values[0]
    if leaf.op == "equals":
        return text.lower() == first.lower()
    if leaf.op == "not_equal":
        return text.lower() != first.lower()
    if leaf.op == "starts_with":
        return text.lower().startswith(first.lower())
    if leaf.op == "in":
        return text.lower() in {v.lower() for v in leaf.values}
    if leaf.op == "between":
        return _order(text, leaf.values[0]) >= 0 and _order(text, leaf.values[1]) <= 0
    order = _order(text, first)
    return {"greater_than": order > 0, "greater_equal": order >= 0, "less_than": order < 0, "less_equal": order <= 0}[
        leaf.op
    ]


def _order(text: str, other: str) -> int:
    try:
        a: Any = float(text)
        b: Any = float(other)
    except ValueError:
        a, b = text, other
    return int(a > b) - int(a < b)


class _Criteria:
    """``(A)``, ``((A)and(B))``, ``((A)or(B)or(C))``: a leaf, or (op, parts); backslash escapes in values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.count = 0

    def parse(self) -> Any:
        node = self.node()
        if self.at != len(self.text):
            raise _Refused("INVALID_QUERY", f"unexpected text at {self.at + 1}")
        return node

    def node(self) -> Any:
        if not self.text.startswith("(", self.at):
            raise _Refused("INVALID_QUERY", f"expected ( at {self.at + 1}")
        if self.text.startswith("((", self.at):
            self.at += 1
            parts, ops = [self.node()], set()
            while (match := re.compile(r"\s*(and|or)\s*", re.I).match(self.text, self.at)) is not None:
                ops.add(match.group(1).lower())
                self.at = match.end()
                parts.append(self.node())
            if len(ops) != 1 or not self.text.startswith(")", self.at):
                raise _Refused("INVALID_QUERY", f"expected and/or and ) at {self.at + 1}")
            self.at += 1
            return ops.pop(), parts
        return self.leaf()

    def leaf(self) -> _Leaf:
        self.count += 1
        if self.count > MAX_CRITERIA:
            raise _Refused("LIMIT_EXCEEDED", f"more than {MAX_CRITERIA} criteria")
        self.at += 1
        pieces, current, escaped = [], [], False
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if escaped:
                current.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == ")":
                pieces.append("".join(current))
                return self._leaf_of(pieces)
            elif char in ":," and ((char == ":" and len(pieces) < 2) or (char == "," and len(pieces) >= 2)):
                pieces.append("".join(current))
                current = []
            elif char == "(":
                raise _Refused("INVALID_QUERY", f"unescaped ( at {self.at}")
            else:
                current.append(char)
        raise _Refused("INVALID_QUERY", "criteria not closed")

    def _leaf_of(self, pieces: list[str]) -> _Leaf:
        if len(pieces) < 3 or not pieces[0]:
            raise _Refused("INVALID_QUERY", "a criterion is (field:operator:value)")
        field, op, values = pieces[0].strip(), pieces[1].strip().lower(), tuple(pieces[2:])
        if op not in _OPERATORS:
            raise _Refused("INVALID_QUERY", f"unknown operator {op}")
        if op == "in" and len(values) > MAX_IN:
            raise _Refused("LIMIT_EXCEEDED", f"more than {MAX_IN} values in in")
        if (op == "between" and len(values) != 2) or (op not in ("in", "between") and len(values) != 1):
            raise _Refused("INVALID_QUERY", f"{op} takes {'two values' if op == 'between' else 'one value'}")
        return _Leaf(field, op, values)
