"""Update Related Records Using External ID, declared as a bulk op.

``PUT /{module}/{record}/{related_list}`` with ``X-EXTERNAL``: rows go 100 a request in input order (one record
takes them all, so nothing waits to be grouped); Zoho's answer is matched by ``json_path`` or order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._ops import PlannedRequest, RequestOp
from ._runner import BulkRunner
from ._window import Window
from .models import encode_data_body

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["MAX_RELATED_ROWS", "related_update_op"]

MAX_RELATED_ROWS = 100

Row = Mapping[str, Any]


def related_update_op(
    crm: ZohoCRM, module: str, record: str, related_list: str, external: Sequence[str]
) -> RequestOp[Row]:
    """The related rows of one record, updated by external id (see ``Records.update_related_by_external_id``)."""
    if not external or any(entry.count(".") != 1 for entry in external):
        raise ValueError("external must name fields as 'Module.Field_API_Name'")
    if not record:
        raise ValueError("record is empty")
    headers = {"X-EXTERNAL": ",".join(external)}
    path = f"/{module}/{record}/{related_list}"

    async def request(part: list[Row]) -> PlannedRequest[Row]:
        body = encode_data_body([dict(row) for row in part])
        return PlannedRequest("PUT", path, "records.related.update", part, body=body, headers=headers)

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda _: Window(_one_group, MAX_RELATED_ROWS, MAX_RELATED_ROWS),
        checker=_row,
        validator=_rows,
    )


def _row(index: int, row: Row) -> Row:
    """The row as a dict of its own (a caller may reuse theirs), or ``TypeError`` naming it."""
    try:
        return dict(row)
    except (TypeError, ValueError):
        raise TypeError(f"item {index}: expected a mapping of field API names, got {type(row).__name__}") from None


def _rows(rows: list[Row]) -> list[Row]:
    items = [_row(index, row) for index, row in enumerate(rows)]
    if not items:
        raise ValueError("rows is empty: nothing to send")
    return items


def _one_group(_: Row) -> None:
    return None
