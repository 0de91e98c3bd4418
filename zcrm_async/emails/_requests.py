"""The requests the link and unlink methods send, built in one place: the send path sends them, the ``plan_*``
functions return them without sending anything (what a dry run shows is what a run sends)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .._ops import API_VERSION, PlannedRequest
from ..models import encode_link_body
from ._items import (
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    check_chunk_size,
    link_chunks,
    link_item,
    unlink_chunks,
    validated,
)

__all__ = ["API_VERSION", "PlannedRequest", "plan_link_deal", "plan_relink", "plan_unlink_deal"]


def link_request(
    part: Sequence[DealLink], module_id: str | None, api_version: str = API_VERSION
) -> PlannedRequest[DealLink]:
    """Link Deal to Emails for one contact's emails."""
    return PlannedRequest(
        "POST",
        f"/Contacts/{part[0].contact_id}/Emails/actions/link_record",
        "emails.link",
        part,
        body=encode_link_body([link_item(item, module_id) for item in part]),
        api_version=api_version,
    )


def single_link_request(
    item: DealLink, module_id: str | None, api_version: str = API_VERSION
) -> PlannedRequest[DealLink]:
    """Link Deal to Emails through the single-message endpoint (the message id is in the path)."""
    return PlannedRequest(
        "POST",
        f"/Contacts/{item.contact_id}/Emails/{item.message_id}/actions/link_record",
        "emails.link",
        [item],
        body=encode_link_body([link_item(item, module_id, with_message_id=False)]),
        api_version=api_version,
    )


def unlink_request(part: Sequence[DealUnlink], api_version: str = API_VERSION) -> PlannedRequest[DealUnlink]:
    """Unlink Deal from Emails for one contact's and owner's emails (ids in the query)."""
    first = part[0]
    return PlannedRequest(
        "DELETE",
        f"/Contacts/{first.contact_id}/Emails/actions/link_record",
        "emails.unlink",
        part,
        params={"owner_id": first.owner_id, "message_ids": ",".join(item.message_id for item in part)},
        api_version=api_version,
    )


def check_unlink_limits(max_ids: int, max_chars: int) -> None:
    check_chunk_size(max_ids, MAX_UNLINK_IDS)
    if max_chars < 1 or max_chars > MAX_UNLINK_CHARS:
        raise ValueError(f"max_chars must be between 1 and {MAX_UNLINK_CHARS}")


def plan_link_deal(
    items: Iterable[DealLink],
    *,
    chunk_size: int = MAX_LINK_ITEMS,
    deals_module_id: str | None = None,
    api_version: str = API_VERSION,
) -> list[PlannedRequest[DealLink]]:
    """The requests ``link_deal`` would send for ``items``, in the order it takes them; nothing is sent.

    Raises what ``link_deal`` raises for bad input (``ValueError``, ``InvalidItemError``), before planning.
    """
    links = validated(items, DealLink)
    check_chunk_size(chunk_size, MAX_LINK_ITEMS)
    return [link_request(chunk.items, deals_module_id, api_version) for chunk in link_chunks(links, chunk_size)]


def plan_unlink_deal(
    items: Iterable[DealUnlink],
    *,
    max_ids: int = MAX_UNLINK_IDS,
    max_chars: int = MAX_UNLINK_CHARS,
    api_version: str = API_VERSION,
) -> list[PlannedRequest[DealUnlink]]:
    """The requests ``unlink_deal`` would send for ``items``, in the order it takes them; nothing is sent."""
    unlinks = validated(items, DealUnlink)
    check_unlink_limits(max_ids, max_chars)
    return [unlink_request(chunk.items, api_version) for chunk in unlink_chunks(unlinks, max_ids, max_chars)]


def plan_relink(
    items: Iterable[DealLink], *, deals_module_id: str | None = None, api_version: str = API_VERSION
) -> list[PlannedRequest[DealLink]]:
    """The requests ``relink`` sends first: its link requests. Which emails then need an unlink and a second link
    depends on Zoho's answers (ALREADY_LINKED), so those cannot be planned."""
    return plan_link_deal(items, deals_module_id=deals_module_id, api_version=api_version)
