"""Search Records criteria built as values: ``(Field:operator:value)``, joined by ``and`` / ``or``.

::

    from zcrm_async.search import criterion

    found = crm.records.search("Contacts", criteria=criterion("Last_Name", "equals", "O'Brien (UK)")
                                                    & criterion("Email", "starts_with", "ob"))

Zoho's "Search Records" page: a criterion is ``(API_name:operator:value)``, at most 10 of them, grouped in
brackets (``((A)and(B))``); ``in`` takes up to 100 values and ``between`` two, comma-separated. In a value,
``(``, ``)`` and ``,`` are escaped with a backslash, and so is a backslash (the page asks it of a trailing
one; escaping each keeps a value that ends in one, or holds ``\\(``, one value). Field names must be API names,
else ``ValueError`` before any request.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import re
from collections.abc import Sequence
from typing import Literal, TypeAlias, get_args

__all__ = ["Criteria", "Operator", "criterion", "escape"]

Operator: TypeAlias = Literal[
    "equals", "not_equal", "starts_with", "in", "greater_than", "greater_equal", "less_than", "less_equal", "between"
]
Value: TypeAlias = str | int | float | bool | decimal.Decimal | datetime.date

MAX_CRITERIA = 10
MAX_IN_VALUES = 100
_OPERATORS: frozenset[str] = frozenset(get_args(Operator))
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)?\Z")
_SPECIAL = re.compile(r"([\\(),])")


def escape(value: Value) -> str:
    """A value as Search criteria text: ``\\``, ``(``, ``)`` and ``,`` escaped with a backslash."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime.datetime | datetime.date):
        text = value.isoformat()
    elif isinstance(value, str | int | float | decimal.Decimal):
        text = str(value)
    else:
        raise TypeError(f"a criteria value must be text, a number, a boolean or a date, not {type(value).__name__}")
    return _SPECIAL.sub(r"\\\1", text)


@dataclasses.dataclass(frozen=True, slots=True)
class Criteria:
    """Search criteria; join two with ``&`` (and) or ``|`` (or). ``str(criteria)`` is the ``criteria`` param."""

    text: str
    count: int = 1

    def __and__(self, other: Criteria) -> Criteria:
        return self._join("and", other)

    def __or__(self, other: Criteria) -> Criteria:
        return self._join("or", other)

    def _join(self, op: str, other: Criteria) -> Criteria:
        if not isinstance(other, Criteria):
            return NotImplemented
        count = self.count + other.count
        if count > MAX_CRITERIA:
            raise ValueError(f"Zoho's Search takes at most {MAX_CRITERIA} criteria")
        return Criteria(f"({self.text}{op}{other.text})", count)

    def __str__(self) -> str:
        return self.text


def criterion(field: str, operator: Operator, value: Value | Sequence[Value]) -> Criteria:
    """``(field:operator:value)``; ``in`` takes a list of values, ``between`` a pair."""
    if not isinstance(field, str) or not _API_NAME.match(field):
        raise ValueError(f"field {field!r} is not a Zoho API name (letters, digits and underscores)")
    if operator not in _OPERATORS:
        raise ValueError(f"unknown Search operator {operator!r}; expected one of: {', '.join(sorted(_OPERATORS))}")
    if operator in ("in", "between"):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError(f"{operator} takes a list of values")
        bounds = (1, MAX_IN_VALUES) if operator == "in" else (2, 2)
        if not bounds[0] <= len(value) <= bounds[1]:
            raise ValueError(f"{operator} takes {bounds[0]} to {bounds[1]} values, got {len(value)}")
        text = ",".join(escape(item) for item in value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        raise TypeError(f"{operator} takes one value")
    else:
        text = escape(value)
    if not text:
        raise ValueError("an empty value matches nothing Zoho documents")
    return Criteria(f"({field}:{operator}:{text})")
