"""Associate Email with a Record, declared as a bulk op: log emails that are not in CRM yet onto a record.

Emails go ``chunk_size`` a request in input order (one record takes them all, so nothing waits to be grouped);
Zoho's answer is matched by ``json_path`` or order; a replayed request answered DUPLICATE_DATA is classified
SUCCESS (the lost first try did it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .._bulk import ItemResult
from .._ops import PlannedRequest, RequestOp
from .._runner import BulkRunner
from .._transport import Response
from .._window import Window
from ..models import AssociateEmail, encode_associate_body
from ..outcomes import DUPLICATE_DATA, SUCCESS
from ..validation import check_not_empty, check_numeric_id
from ._items import ASSOCIATE_CHUNK, MAX_ASSOCIATE_ITEMS, check_chunk_size

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["associate_op"]


def associate_op(
    crm: ZohoCRM, module: str, record_id: str | int, *, chunk_size: int = ASSOCIATE_CHUNK
) -> RequestOp[AssociateEmail]:
    """``POST /{module}/{record_id}/actions/associate_email``, ``chunk_size`` emails a request."""
    record = check_numeric_id(record_id, "record_id")
    check_chunk_size(chunk_size, MAX_ASSOCIATE_ITEMS)
    path = f"/{module}/{record}/actions/associate_email"

    async def request(part: list[AssociateEmail]) -> PlannedRequest[AssociateEmail]:
        return PlannedRequest("POST", path, "emails.associate", part, body=encode_associate_body(part))

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda _: Window(_one_group, chunk_size, chunk_size),
        checker=_check_email,
        validator=_check_all,
        classify=_duplicate_on_replay,
    )


def _check_email(index: int, email: AssociateEmail) -> AssociateEmail:
    if not isinstance(email, AssociateEmail):
        raise TypeError(f"item {index}: expected AssociateEmail, got {type(email).__name__}")
    if not email.original_message_id:
        raise ValueError(f"item {index}: original_message_id is missing")
    return email


def _check_all(emails: list[AssociateEmail]) -> list[AssociateEmail]:
    check_not_empty(emails, "emails")
    return [_check_email(index, email) for index, email in enumerate(emails)]


def _one_group(_: AssociateEmail) -> None:
    return None


async def _duplicate_on_replay(
    results: list[ItemResult[AssociateEmail]], response: Response
) -> list[ItemResult[AssociateEmail]]:
    if not response.replayed:
        return results
    return [_duplicate_as_success(result) for result in results]


def _duplicate_as_success(result: ItemResult[AssociateEmail]) -> ItemResult[AssociateEmail]:
    if result.code != DUPLICATE_DATA:
        return result
    return dataclasses.replace(result, code=SUCCESS, status="success", message="associated by an earlier try")
