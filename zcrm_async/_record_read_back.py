"""Reading records back when a write's answer was lost: did the insert make its record, is the record gone?

An insert in doubt is looked up by a field the caller names (COQL ``where field in (...)``, 50 values a query:
Zoho's limit for ``in``); COQL rather than Search, because Search may not see a record made a moment ago (Zoho's
Search Records page points to COQL for that). A delete in doubt is settled by Get Record: a record Zoho no longer
serves (204, 404, or INVALID_DATA for its id) is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._errors import error_from_response
from .coql import Query, field
from .outcomes import INVALID_DATA

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["find_by_field", "gone"]

_IN_VALUES = 50


async def find_by_field(crm: ZohoCRM, module: str, name: str, values: Sequence[Any]) -> dict[str, str]:
    """The id of a record holding each value of ``name`` (as text), for the values some record holds."""
    found: dict[str, str] = {}
    distinct = list(dict.fromkeys(values))
    for start in range(0, len(distinct), _IN_VALUES):
        query = Query(module, ["id", name], where=field(name).in_(distinct[start : start + _IN_VALUES]))
        async for row in crm.records.coql(query):
            value = row.get(name)
            if value is not None and "id" in row:
                found.setdefault(str(value), str(row["id"]))
    return found


async def gone(crm: ZohoCRM, module: str, record_ids: Sequence[str]) -> set[str]:
    """The ids of ``record_ids`` whose record Zoho no longer serves."""
    missing: set[str] = set()
    for record_id in record_ids:
        response = await crm.request("GET", f"/{module}/{record_id}", operation="records.get")
        refused = response.status == 400 and error_from_response(400, response.content).code == INVALID_DATA
        if response.status in (204, 404) or refused:
            missing.add(record_id)
    return missing
