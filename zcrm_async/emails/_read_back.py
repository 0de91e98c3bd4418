"""Reading back what a write did when its answer leaves it in doubt: the verifiers the email ops declare.

A write answered "already done" after a lost first try may be our own; an item Zoho's answer did not account
for may or may not have been applied. Both are settled by reading where the email is linked now (the contact's
Get Emails list, through ``WhereLinked``). Each function here is a ``Settle`` step of an op, or builds one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from .._bulk import ItemResult
from .._errors import APIError, ResponseDecodeError, TransportError
from .._ops import Settle
from .._transport import Response
from ..models import LinkedRecord
from ..outcomes import ALREADY_LINKED, INVALID_DATA, LINK_UNVERIFIED, NO_RESULT, NOT_LINKED, SUCCESS, UNREADABLE_RESULT
from ._items import DealLink, DealUnlink

__all__ = [
    "ALREADY_LINKED_CODES",
    "EmailItem",
    "WhereLinked",
    "in_doubt",
    "is_linked_as_intended",
    "is_unlinked",
    "not_linked",
    "read_back",
    "settle_already_linked",
]


class EmailItem(Protocol):
    """What a read-back needs of an item: the email it names."""

    @property
    def contact_id(self) -> str: ...

    @property
    def message_id(self) -> str: ...


E = TypeVar("E", bound=EmailItem)

UNKNOWN_OUTCOME = frozenset({NO_RESULT, UNREADABLE_RESULT})
#: The answers a link's classification reads back (``codes=``): the email is on some deal already.
ALREADY_LINKED_CODES = frozenset({ALREADY_LINKED})

#: ``where_linked(contact_id, message_ids)``: the deal each email is linked to (None: none), for those read.
WhereLinked = Callable[[str, Iterable[str]], Awaitable[dict[str, LinkedRecord | None]]]
#: Whether an item's email, linked to ``LinkedRecord`` (None: not linked), is where the write meant it to be.
IsDone = Callable[[E, LinkedRecord | None], bool]


def is_linked_as_intended(item: DealLink, linked: LinkedRecord | None) -> bool:
    return linked is not None and linked.id == item.deal_id


def is_unlinked(item: DealUnlink, linked: LinkedRecord | None) -> bool:
    return linked is None


def in_doubt(where_linked: WhereLinked, is_done: IsDone[E]) -> Settle[E]:
    """The verifier of a write: read back the items whose outcome is in doubt: every failure when an earlier try
    of the request may have been applied (it got no response, or a 5xx), else only the items Zoho's answer did
    not account for."""

    async def verify(results: list[ItemResult[E]], response: Response) -> list[ItemResult[E]]:
        if response.replayed:
            return await read_back(where_linked, results, is_done)
        if any(result.code in UNKNOWN_OUTCOME for result in results):
            return await read_back(
                where_linked, results, is_done, why="verified by reading it back", codes=UNKNOWN_OUTCOME
            )
        return results

    return verify


async def read_back(
    where_linked: WhereLinked,
    results: list[ItemResult[E]],
    is_done: IsDone[E],
    *,
    why: str = "verified after a retry",
    codes: frozenset[str] | None = None,
    unread: str | None = None,
    seen: dict[tuple[str, str], LinkedRecord | None] | None = None,
) -> list[ItemResult[E]]:
    """Read back where the emails of failed results (with one of ``codes``, if given) are linked; report SUCCESS
    where ``is_done`` holds.

    An email whose link cannot be read keeps Zoho's answer, or gets the code ``unread`` when given (so a caller
    can tell "linked elsewhere" from "could not look"). Each item read back counts one more attempt. The links
    read are added to ``seen`` when given, by (contact id, message id).
    """
    suspect = [i for i, r in enumerate(results) if not r.ok and (codes is None or r.code in codes)]
    if not suspect:
        return results
    contact = results[suspect[0]].item.contact_id  # a chunk is one contact's
    try:
        links = await where_linked(contact, [results[i].item.message_id for i in suspect])
    except (APIError, TransportError, ResponseDecodeError):
        links = {}
    if seen is not None:  # a caller that may need the links later (relink, to put one back)
        seen.update({(contact, message_id): linked for message_id, linked in links.items()})
    verified = list(results)
    for i in suspect:
        result = results[i]
        message_id = result.item.message_id
        if message_id in links and is_done(result.item, links[message_id]):
            verified[i] = dataclasses.replace(
                result, code=SUCCESS, status="success", message=why, attempts=result.attempts + 1
            )
        elif message_id not in links and unread is not None:
            message = f"{result.message}; where it is linked could not be read back".lstrip("; ")
            verified[i] = dataclasses.replace(result, code=unread, message=message, attempts=result.attempts + 1)
        else:
            verified[i] = dataclasses.replace(result, attempts=result.attempts + 1)
    return verified


def settle_already_linked(where_linked: WhereLinked) -> Settle[DealLink]:
    """Link's "make it so" classification: an ALREADY_LINKED read back on the intended deal is SUCCESS; one whose
    deal cannot be read is LINK_UNVERIFIED."""

    async def classify(results: list[ItemResult[DealLink]], _: Response) -> list[ItemResult[DealLink]]:
        return await read_back(
            where_linked, results, is_linked_as_intended, why="already linked to this deal", codes=ALREADY_LINKED_CODES,
            unread=LINK_UNVERIFIED,
        )  # fmt: skip

    return classify


def not_linked(where_linked: WhereLinked) -> Settle[DealUnlink]:
    """Unlink's classification: Zoho refuses to unlink an email that is not linked with a bare INVALID_DATA, as
    for an unknown email. Those are read back: one the contact's list shows unlinked is in the state asked for,
    reported NOT_LINKED (a success); the others keep Zoho's answer."""

    async def classify(results: list[ItemResult[DealUnlink]], _: Response) -> list[ItemResult[DealUnlink]]:
        refused = [i for i, result in enumerate(results) if result.code == INVALID_DATA]
        if not refused:
            return results
        contact = results[refused[0]].item.contact_id  # a chunk is one contact's
        try:
            links = await where_linked(contact, [results[i].item.message_id for i in refused])
        except (APIError, TransportError, ResponseDecodeError):
            return results
        checked = list(results)
        for i in refused:
            result = results[i]
            if result.item.message_id in links and links[result.item.message_id] is None:
                message = "the email is not linked to a deal: nothing to unlink"
                checked[i] = dataclasses.replace(
                    result, code=NOT_LINKED, status="success", message=message, attempts=result.attempts + 1
                )
            else:  # a read-back counts as an attempt, whatever it found
                checked[i] = dataclasses.replace(result, attempts=result.attempts + 1)
        return checked

    return classify
