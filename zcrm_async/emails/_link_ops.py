"""Link Deal to Emails and Unlink Deal from Emails (v8), declared as bulk ops for the runner.

Each op is a ``RequestOp``: its request builder (``_requests``), its window (one contact's emails a request;
an unlink also one owner's, within 2,000 characters of ids), its matching (Zoho echoes ``message_id``), its
verifier (read the email back when a replay or a missing status leaves it in doubt) and its classification
(link: an ALREADY_LINKED on the intended deal is SUCCESS when asked; unlink: an email not linked is NOT_LINKED).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._ops import RequestOp
from .._runner import BulkRunner
from ..validation import InvalidItemError
from ._items import (
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    check_chunk_size,
    check_link,
    check_unlink,
    email_key,
    link_window,
    message_id_of,
    unlink_window,
    validated,
)
from ._read_back import in_doubt, is_linked_as_intended, is_unlinked, not_linked, settle_already_linked
from ._reading import EmailReader
from ._requests import PlannedRequest, check_unlink_limits, link_request, single_link_request, unlink_request

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["link_op", "single_link_op", "unlink_op"]


def link_op(
    crm: ZohoCRM,
    *,
    chunk_size: int = MAX_LINK_ITEMS,
    deals_module_id: str | None = None,
    already_linked_ok: bool = False,
) -> RequestOp[DealLink]:
    """Link Deal to Emails, ``chunk_size`` emails of one contact a request. The Deals module's id is learned at
    the first request when not given (once per client, shared by every worker)."""
    check_chunk_size(chunk_size, MAX_LINK_ITEMS)
    where_linked = EmailReader(crm).where_linked

    async def request(part: list[DealLink]) -> PlannedRequest[DealLink]:
        return link_request(part, deals_module_id or await crm.modules.id_of("Deals"))

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda capacity: link_window(chunk_size, capacity),
        checker=check_link,
        validator=lambda items: validated(items, DealLink),
        match=message_id_of,
        verify=in_doubt(where_linked, is_linked_as_intended),
        classify=settle_already_linked(where_linked) if already_linked_ok else None,
        pending_key=email_key,
    )


def single_link_op(crm: ZohoCRM, module_id: str) -> RequestOp[DealLink]:
    """Link Deal to Emails through the single-message endpoint: one email a request, its id in the path (the
    answer does not echo it, so there is nothing to match by)."""

    async def request(part: list[DealLink]) -> PlannedRequest[DealLink]:
        return single_link_request(part[0], module_id)

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda capacity: link_window(1, capacity),
        checker=check_link,
        validator=lambda items: validated(items, DealLink),
        verify=in_doubt(EmailReader(crm).where_linked, is_linked_as_intended),
        pending_key=email_key,
    )


def unlink_op(
    crm: ZohoCRM, *, max_ids: int = MAX_UNLINK_IDS, max_chars: int = MAX_UNLINK_CHARS
) -> RequestOp[DealUnlink]:
    """Unlink Deal from Emails: one contact's and owner's emails a request, ``message_ids`` within ``max_ids``
    ids and ``max_chars`` characters, split on whole ids."""
    check_unlink_limits(max_ids, max_chars)
    where_linked = EmailReader(crm).where_linked

    async def request(part: list[DealUnlink]) -> PlannedRequest[DealUnlink]:
        return unlink_request(part)

    def check(index: int, item: DealUnlink) -> DealUnlink:
        return _check_fits(check_unlink(index, item), max_chars, index)

    def check_all(items: list[DealUnlink]) -> list[DealUnlink]:
        unlinks = validated(items, DealUnlink)
        for index, item in enumerate(unlinks):
            _check_fits(item, max_chars, index)
        return unlinks

    return RequestOp(
        request=request,
        pipeline=BulkRunner(crm).send,
        grouping=lambda capacity: unlink_window(max_ids, max_chars, capacity),
        checker=check,
        validator=check_all,
        match=message_id_of,
        verify=in_doubt(where_linked, is_unlinked),
        classify=not_linked(where_linked),
        pending_key=email_key,
    )


def _check_fits(item: DealUnlink, max_chars: int, index: int) -> DealUnlink:
    if len(item.message_id) > max_chars:
        raise InvalidItemError(index, "message_id", f"alone is longer than max_chars ({max_chars})")
    return item
