"""COQL queries built as values: field names checked, every value quoted, no user text pasted into the query.

::

    from zcrm_async.coql import Query, field

    query = Query(
        "Deals", ["Deal_Name", "Stage"],
        where=field("Contact_Name").eq(contact_id) & field("Stage").not_in(["Closed Lost", "Closed Won"]),
    )
    async for deal in crm.records.coql(query):
        ...

Field and module names must look like Zoho API names (letters, digits, underscores; a lookup's field by one
dot: ``Owner.last_name``); anything else is a ``ValueError`` before any request. Text values are put between
single quotes with ``'`` and ``\\`` escaped by a backslash (Zoho's "Query API - An Overview"), so a value can
never end its quotes early. Conditions join with ``&`` and ``|``; each pair is bracketed, as Zoho asks once a
WHERE has more than two criteria. Zoho's limits are checked here too ("Query API - Limitations"): 50 columns,
25 criteria, 50 values in an ``in``.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias

import msgspec

__all__ = ["Condition", "CoqlInfo", "CoqlPage", "Field", "Query", "field", "quote"]

Value: TypeAlias = str | int | float | bool | decimal.Decimal | datetime.date

MAX_COLUMNS = 50
MAX_CRITERIA = 25
MAX_IN_VALUES = 50
MAX_ORDER_BY = 10

_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?\Z")
_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _checked_name(name: object, what: str = "field") -> str:
    if not isinstance(name, str) or not _API_NAME.match(name):
        raise ValueError(f"{what} {name!r} is not a Zoho API name (letters, digits and underscores)")
    return name


def quote(value: Value) -> str:
    """A value as a COQL literal: text quoted (``'`` and ``\\`` escaped), numbers and booleans as they are.

    Raises:
        ValueError: None (use ``is_null()``), NaN or infinity.
        TypeError: any other type.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be compared in COQL")
        return format(value, "f") if isinstance(value, decimal.Decimal) else repr(value)
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        raise ValueError("None is not a value in COQL: use field(...).is_null()")
    raise TypeError(f"a COQL value must be text, a number, a boolean or a date, not {type(value).__name__}")


@dataclasses.dataclass(frozen=True, slots=True)
class Condition:
    """A WHERE condition; join two with ``&`` (and) or ``|`` (or)."""

    text: str
    criteria: int = 1

    def __and__(self, other: Condition) -> Condition:
        return self._join("and", other)

    def __or__(self, other: Condition) -> Condition:
        return self._join("or", other)

    def _join(self, op: str, other: Condition) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        criteria = self.criteria + other.criteria
        if criteria > MAX_CRITERIA:
            raise ValueError(f"Zoho allows at most {MAX_CRITERIA} criteria in a WHERE clause")
        return Condition(f"({self.text} {op} {other.text})", criteria)


@dataclasses.dataclass(frozen=True, slots=True)
class Field:
    """A field to compare: ``field("Email").eq("a@b.c")``."""

    name: str

    def __post_init__(self) -> None:
        _checked_name(self.name)

    def _compare(self, op: str, value: Value) -> Condition:
        return Condition(f"{self.name} {op} {quote(value)}")

    def eq(self, value: Value) -> Condition:
        return self._compare("=", value)

    def ne(self, value: Value) -> Condition:
        return self._compare("!=", value)

    def lt(self, value: Value) -> Condition:
        return self._compare("<", value)

    def le(self, value: Value) -> Condition:
        return self._compare("<=", value)

    def gt(self, value: Value) -> Condition:
        return self._compare(">", value)

    def ge(self, value: Value) -> Condition:
        return self._compare(">=", value)

    def like(self, pattern: str) -> Condition:
        """``%`` in ``pattern`` matches any run of characters (the only wildcard Zoho documents)."""
        return self._compare("like", pattern)

    def not_like(self, pattern: str) -> Condition:
        return self._compare("not like", pattern)

    def between(self, low: Value, high: Value) -> Condition:
        return Condition(f"{self.name} between {quote(low)} and {quote(high)}")

    def in_(self, values: Iterable[Value]) -> Condition:
        return self._in("in", values)

    def not_in(self, values: Iterable[Value]) -> Condition:
        return self._in("not in", values)

    def is_null(self) -> Condition:
        return Condition(f"{self.name} is null")

    def is_not_null(self) -> Condition:
        return Condition(f"{self.name} is not null")

    def _in(self, op: str, values: Iterable[Value]) -> Condition:
        if isinstance(values, str):
            raise TypeError("in_() takes a collection of values, not one string")
        listed = [quote(value) for value in values]
        if not 1 <= len(listed) <= MAX_IN_VALUES:
            raise ValueError(f"{op} takes 1 to {MAX_IN_VALUES} values (Zoho's limit), got {len(listed)}")
        return Condition(f"{self.name} {op} ({', '.join(listed)})")


def field(name: str) -> Field:
    """The field ``name`` (its API name), to build a condition on."""
    return Field(name)


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class Query:
    """``select FIELDS from MODULE where WHERE order by ORDER_BY``, paged by ``crm.records.coql``.

    Args:
        module: the module's API name.
        fields: up to 50 field API names (``id`` is always answered).
        where: the condition; None selects every record (``id is not null``: Zoho requires a WHERE).
        order_by: ``(field, "asc" | "desc")`` pairs; none orders by id ascending, which is what lets a read go
            past Zoho's 100,000 rows by key (``id > last``). A read ordered otherwise stops there.
        limit: the most rows to read in all (None: every match).
    """

    module: str
    fields: Sequence[str]
    where: Condition | None = None
    order_by: Sequence[tuple[str, Literal["asc", "desc"]]] = ()
    limit: int | None = None

    def __init__(
        self,
        module: str,
        fields: Sequence[str],
        *,
        where: Condition | None = None,
        order_by: Sequence[tuple[str, Literal["asc", "desc"]]] = (),
        limit: int | None = None,
    ) -> None:
        if not isinstance(module, str) or not _MODULE.match(module):
            raise ValueError(f"module {module!r} is not a Zoho module API name")
        if isinstance(fields, str) or not fields:
            raise ValueError("fields must be a non-empty list of field API names")
        names = tuple(_checked_name(name) for name in fields)
        if len(names) > MAX_COLUMNS:
            raise ValueError(f"Zoho allows at most {MAX_COLUMNS} columns, got {len(names)}")
        if len(set(names)) != len(names):
            raise ValueError("a field is selected twice (Zoho answers DUPLICATE_DATA)")
        if where is not None and not isinstance(where, Condition):
            raise TypeError("where must be a Condition built with field(...)")
        order = tuple((_checked_name(name), _direction(direction)) for name, direction in order_by)
        if len(order) > MAX_ORDER_BY:
            raise ValueError(f"Zoho allows at most {MAX_ORDER_BY} ORDER BY fields")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError("limit must be a positive whole number, or None for every match")
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "fields", names)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "order_by", order)
        object.__setattr__(self, "limit", limit)

    @property
    def by_id(self) -> bool:
        """Whether the rows come in id order (what paging past 100,000 by key needs)."""
        return not self.order_by or tuple(self.order_by) == (("id", "asc"),)

    def text(self, *, limit: int, offset: int = 0, after_id: str | None = None) -> str:
        """The ``select_query`` of one page: ``limit`` rows from ``offset``, of the ids above ``after_id``."""
        where = self.where
        if after_id is not None:
            if not after_id.isascii() or not after_id.isdigit():
                raise ValueError(f"a record id is digits, not {after_id!r}")
            key = Condition(f"id > {after_id}")
            where = key if where is None else where & key
        condition = where.text if where is not None else "id is not null"
        parts = [f"select {', '.join(self.fields)} from {self.module} where {condition}"]
        if self.order_by:
            parts.append("order by " + ", ".join(f"{name} {direction}" for name, direction in self.order_by))
        parts.append(f"limit {limit} offset {offset}" if offset else f"limit {limit}")
        return " ".join(parts)


class CoqlInfo(msgspec.Struct, kw_only=True, frozen=True):
    """The ``info`` of a COQL answer: rows in this page, and whether more match after it."""

    count: int = 0
    more_records: bool = False


class CoqlPage(msgspec.Struct, kw_only=True, frozen=True):
    """One COQL answer (``crm.records.coql_page``); Zoho's 204 (no row) is an empty page."""

    data: list[dict[str, Any]] = []
    info: CoqlInfo = CoqlInfo()


def _direction(direction: str) -> Literal["asc", "desc"]:
    if direction == "asc":
        return "asc"
    if direction == "desc":
        return "desc"
    raise ValueError(f"an ORDER BY direction is 'asc' or 'desc', not {direction!r}")
