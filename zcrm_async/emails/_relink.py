"""Relink: make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow).

``RelinkOp`` is a bulk op composed of the link and unlink ops: link, read back, unlink, link, put back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

from .._bulk import ItemResult
from .._ops import write_in_order
from .._window import Window
from ..models import LinkedRecord
from ..outcomes import ALREADY_LINKED, LINK_UNVERIFIED, NOT_ALLOWED, NOT_SENT, RESTORE_FAILED, SUCCESS
from ._deal_contacts import DealContacts
from ._items import MAX_LINK_ITEMS, BeforeUnlink, DealLink, DealUnlink, check_link, email_key, link_window, validated
from ._link_ops import link_op, unlink_op
from ._read_back import ALREADY_LINKED_CODES, is_linked_as_intended, read_back
from ._reading import EmailReader

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["RelinkOp"]

#: A first link's answers that mean the email is on a deal now: nothing to put back.
_LINKED_SOMEWHERE = frozenset({ALREADY_LINKED, LINK_UNVERIFIED})


class RelinkOp:
    """Relink as a bulk op: each part is one contact's link request and, for the emails it finds linked
    elsewhere to a deal the contact may be linked to, the unlink and the link again; where that second link
    fails, the old link put back. Grouped as a link (one contact, 20 a request); every step of a part runs in
    the worker that took it, so a part costs at most one unlink request per owner and one more link request."""

    __slots__ = ("_before_unlink", "_deals", "_link", "_unlink", "_where_linked")

    def __init__(
        self, crm: ZohoCRM, *, deals_module_id: str | None = None, before_unlink: BeforeUnlink | None = None
    ) -> None:
        self._link = link_op(crm, deals_module_id=deals_module_id)
        self._unlink = unlink_op(crm)
        self._where_linked = EmailReader(crm).where_linked
        self._deals = DealContacts(crm)  # each target deal read once per call or stream
        self._before_unlink = before_unlink

    @property
    def pending_key(self) -> Callable[[DealLink], Hashable]:
        return email_key

    def window(self, capacity: int | None) -> Window[DealLink]:
        return link_window(MAX_LINK_ITEMS, capacity)

    def check(self, index: int, item: DealLink) -> DealLink:
        return check_link(index, item)

    def check_all(self, items: list[DealLink]) -> list[DealLink]:
        return validated(items, DealLink)

    async def write(self, part: list[DealLink]) -> list[ItemResult[DealLink]]:
        """Every email of the part in its final state: SUCCESS on the intended deal, else the step that failed.
        An email an earlier relink left on no deal (its ``previous_deal_id`` given) whose link fails is put back
        too."""
        old: dict[tuple[str, str], LinkedRecord | None] = {}  # where the read-back found each ALREADY_LINKED email
        final = await self._link_settled(part, old)
        await self._put_back_stranded(part, final)
        retry_at = [i for i, result in enumerate(final) if result.code == ALREADY_LINKED]
        retry_at = await _allowed(part, retry_at, final, old, self._deals)
        if not retry_at:
            return final
        moving = [_moving(part[i], old[email_key(part[i])]) for i in retry_at]
        if self._before_unlink is not None:  # e.g. a journal commits where each email was before it is on none
            await self._before_unlink(moving)
        unlinked = await write_in_order(self._unlink, [_unlink_of(link) for link in moving])
        relink_at: list[int] = []
        for i, link, result in zip(retry_at, moving, unlinked, strict=True):
            spent = final[i].attempts + result.attempts
            if result.ok:
                relink_at.append(i)
                final[i] = dataclasses.replace(final[i], attempts=spent)
            else:  # a failed unlink is the email's final state (it may have been applied: say where it was)
                details = {**result.details, "previous_deal_id": link.previous_deal_id}
                final[i] = ItemResult(part[i], result.code, result.status, result.message, details, spent)
        if relink_at:
            await self._link_again(part, relink_at, final, old)
        return final

    async def _link_again(
        self,
        part: list[DealLink],
        relink_at: list[int],
        final: list[ItemResult[DealLink]],
        old: dict[tuple[str, str], LinkedRecord | None],
    ) -> None:
        """The second link of the unlinked emails; where it fails, the old link put back."""
        second = await self._link.write([part[i] for i in relink_at])
        failed_at: list[int] = []
        for i, relinked in zip(relink_at, second, strict=True):
            final[i] = _moved_from(
                dataclasses.replace(relinked, attempts=relinked.attempts + final[i].attempts),
                old[email_key(part[i])],
            )
            if not relinked.ok:
                failed_at.append(i)
        if failed_at:
            await self._put_back(part, failed_at, final, old)

    async def _put_back_stranded(self, part: list[DealLink], final: list[ItemResult[DealLink]]) -> None:
        """Emails given with the deal an interrupted relink took them off (``previous_deal_id``): where the link
        failed, one that is on no deal is put back on that deal (one on any deal answers ALREADY_LINKED and stays
        where it is); where it succeeded, the result names the deal it came from."""
        previous: dict[tuple[str, str], LinkedRecord | None] = {}
        failed_at: list[int] = []
        for i, result in enumerate(final):
            deal = part[i].previous_deal_id
            if deal is None or deal == part[i].deal_id:
                continue
            if result.ok:
                final[i] = _moved_from(result, LinkedRecord(id=deal))
            elif result.code not in _LINKED_SOMEWHERE:
                previous[email_key(part[i])] = LinkedRecord(id=deal)
                failed_at.append(i)
        if failed_at:
            await self._put_back(part, failed_at, final, previous)

    async def _link_settled(
        self, links: list[DealLink], seen: dict[tuple[str, str], LinkedRecord | None]
    ) -> list[ItemResult[DealLink]]:
        """Link, reading back every ALREADY_LINKED (as ``already_linked_ok=True``); links read go to ``seen``."""
        return await read_back(
            self._where_linked, await self._link.write(links), is_linked_as_intended,
            why="already linked to this deal", codes=ALREADY_LINKED_CODES, unread=LINK_UNVERIFIED, seen=seen,
        )  # fmt: skip

    async def _put_back(
        self,
        part: list[DealLink],
        failed_at: list[int],
        final: list[ItemResult[DealLink]],
        old: dict[tuple[str, str], LinkedRecord | None],
    ) -> None:
        """Link the emails whose second link failed back to the deal they were on, and say so in their results."""
        restore_at = [i for i in failed_at if old.get(email_key(part[i])) is not None]
        restored: dict[int, ItemResult[DealLink]] = {}
        now: dict[tuple[str, str], LinkedRecord | None] = {}
        if restore_at:
            back = [_restore_of(part[i], old[email_key(part[i])]) for i in restore_at]
            restored = dict(zip(restore_at, await self._link_settled(back, now), strict=True))
        for i in failed_at:
            link, restore = part[i], restored.get(i)
            linked = now.get(email_key(link))
            if restore is not None and not restore.ok and linked is not None and linked.id == link.deal_id:
                # The second link's answer was lost but it had been applied: the relink is done after all.
                done = dataclasses.replace(
                    final[i], code=SUCCESS, status="success", message="linked to this deal (read back)",
                    details={}, attempts=final[i].attempts + restore.attempts,
                )  # fmt: skip
                final[i] = _moved_from(done, old.get(email_key(link)))
            else:
                final[i] = _with_restore(final[i], restore, old.get(email_key(link)))


async def _allowed(
    part: list[DealLink],
    retry_at: list[int],
    final: list[ItemResult[DealLink]],
    old: dict[tuple[str, str], LinkedRecord | None],
    deals: DealContacts,
) -> list[int]:
    """Of the emails to unlink and link again, those whose target deal may take them; the others (the deal is
    not associated with their contact: Zoho would answer NOT_ALLOWED) get that as their final result, unsent."""
    allowed: list[int] = []
    for i in retry_at:
        link = part[i]
        if await deals.associated(link.deal_id, link.contact_id) is False:
            final[i] = _refused(final[i], old.get(email_key(link)))
        else:  # associated, or it could not be read: send, and put the old link back if refused
            allowed.append(i)
    return allowed


def _refused(found: ItemResult[DealLink], linked: LinkedRecord | None) -> ItemResult[DealLink]:
    """An email not moved because its deal is not associated with its contact, left where it was."""
    link = found.item
    where = f"it stays linked to deal {linked.id}" if linked is not None else "it stays as it was"
    message = (
        f"not moved: deal {link.deal_id} is not associated with contact {link.contact_id} (neither its"
        f" Contact_Name nor one of its contact roles), so Zoho would refuse the link; nothing was unlinked, {where}"
    )
    details = {"deal_not_associated": True, **({"linked_deal_id": str(linked.id)} if linked is not None else {})}
    return dataclasses.replace(found, code=NOT_ALLOWED, status="error", message=message, details=details)


def _moving(link: DealLink, linked: LinkedRecord | None) -> DealLink:
    """The link about to be unlinked, with the deal it is on now: what ``before_unlink`` is given."""
    assert linked is not None and linked.id is not None  # a read-back found it on that deal
    return dataclasses.replace(link, previous_deal_id=str(linked.id))


def _moved_from(result: ItemResult[DealLink], old: LinkedRecord | None) -> ItemResult[DealLink]:
    """A result that names the deal the email was taken off (``details["previous_deal_id"]``)."""
    if old is None or old.id is None:
        return result
    return dataclasses.replace(result, details={**result.details, "previous_deal_id": str(old.id)})


def _unlink_of(link: DealLink) -> DealUnlink:
    return DealUnlink(contact_id=link.contact_id, message_id=link.message_id, owner_id=link.owner_id)


def _restore_of(link: DealLink, old: LinkedRecord | None) -> DealLink:
    assert old is not None
    name = old.name if isinstance(old.name, str) else None
    return dataclasses.replace(link, deal_id=str(old.id), deal_name=name)


def _with_restore(
    failed: ItemResult[DealLink], restore: ItemResult[DealLink] | None, old: LinkedRecord | None
) -> ItemResult[DealLink]:
    """The second link's failure, with what became of the link it had replaced."""
    if old is None:
        note, extra = "it was linked to no deal before and is linked to none now", {}
    elif restore is not None and restore.ok:
        note = f"its link to deal {old.id} was put back"
        extra = {"restored_deal_id": str(old.id), "previous_deal_id": str(old.id)}
    else:
        code = restore.code if restore is not None else NOT_SENT
        note = f"putting back its link to deal {old.id} failed too ({code}): it is linked to no deal"
        extra = {RESTORE_FAILED: code, "previous_deal_id": str(old.id)}
    message = f"{failed.message}; {note}".lstrip("; ")
    attempts = failed.attempts + (restore.attempts if restore is not None else 0)
    return dataclasses.replace(failed, message=message, details={**failed.details, **extra}, attempts=attempts)
