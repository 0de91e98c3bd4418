"""Relink: make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Iterable
from contextlib import AbstractAsyncContextManager

from .._bulk import BulkResult, ItemResult
from .._streaming import DEFAULT_WINDOW, BulkStream, Sender, materialize
from .._write_results import SUCCESS
from ..models import LinkedRecord
from ._deal_contacts import DealContacts
from ._items import (
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    ProgressCallback,
    check_link,
    email_key,
    link_window,
    unlink_window,
    validated,
)
from ._linking import Linking
from ._read_back import ALREADY_LINKED, LINK_UNVERIFIED, is_linked_as_intended
from ._requests import PlannedRequest, plan_relink

__all__ = ["NOT_ALLOWED", "Relinking"]

#: Zoho's code for a link to a deal not associated with the email's contact; relink gives it, unsent, to an
#: email it does not move for that reason.
NOT_ALLOWED = "NOT_ALLOWED"


class Relinking(Linking):
    """The relink methods of ``crm.emails``: link, then unlink and link again where Zoho says ALREADY_LINKED."""

    async def relink(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealLink]:
        """Make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow).

        Links first; the emails Zoho answers ALREADY_LINKED are read back (the contact's list shows links): those
        already on the intended deal are done, the others are unlinked and linked again, so a correct link is never
        undone. Each item's result is its final state: SUCCESS when the email ends linked to the intended deal,
        else the step that failed. Each link request's emails go through every step together (one worker): at
        most one unlink request per owner and one more link request follow a link request.

        Before unlinking, the target deal is read: Zoho refuses the link (NOT_ALLOWED) when "the contact is not
        associated with the deal", and a contact is associated by being the deal's ``Contact_Name`` or by one of
        its contact roles (Zoho calls both "associating a contact and a deal"), so both are accepted. An email
        whose contact is neither is not moved and nothing is sent for it: its result is NOT_ALLOWED with
        ``details["deal_not_associated"]`` (and ``details["linked_deal_id"]``, where it stays). Cost: one Get
        Record per target deal per call, plus one read of its contact roles when a contact is not its
        ``Contact_Name``; nothing is read for an email that needs no unlink. When the deal cannot be read (no
        Deals read scope, a failed or unreadable answer, more contact roles than one page) the email is sent as
        if there were no check, never failed for it.

        An email is never left worse off than it was found: when the second link fails (NOT_ALLOWED: the contact
        is not on that deal), the email is linked back to the deal it was on, and its result says both (the
        failure's code, ``details["restored_deal_id"]``, or ``details["restore_failed"]`` with the code of a
        restore that failed too).
        ``relink_stream`` does the same in constant memory.
        """
        links = validated(await materialize(items), DealLink)
        send = self._relink_sender(deals_module_id or await self._crm.modules.id_of("Deals"), DealContacts(self._crm))
        return await self._collect(links, send, link_window(MAX_LINK_ITEMS, None), concurrency, on_progress)

    def relink_stream(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        window: int = DEFAULT_WINDOW,
    ) -> AbstractAsyncContextManager[BulkStream[DealLink]]:
        """``relink`` for input of any size in constant memory: each item's final state as its steps complete.

        Grouped, ordered and bounded as ``link_deal_stream``; an item's result comes once, when it is final.
        Each target deal is read once per stream, of the last 1,024 deals asked about (an older one is read
        again if asked again), so memory stays bounded whatever the number of deals.
        """
        send = self._relink_sender(deals_module_id, DealContacts(self._crm))
        window_ = link_window(MAX_LINK_ITEMS, window)
        return self._stream(items, send, window_, concurrency, check=check_link, pending_key=email_key)

    def plan_relink(
        self, items: Iterable[DealLink], *, deals_module_id: str | None = None
    ) -> list[PlannedRequest[DealLink]]:
        """The requests ``relink`` sends first (its link requests); nothing is sent. The reads, unlink and second
        link an email needs depend on Zoho's answer (ALREADY_LINKED), so they cannot be planned."""
        return plan_relink(items, deals_module_id=deals_module_id, api_version=self._crm.api_version)

    def _relink_sender(self, module_id: str | None, deals: DealContacts) -> Sender[DealLink]:
        """Relinks one contact's emails; learns the Deals module's id at the first request if not given."""
        known = module_id

        async def send(part: list[DealLink]) -> list[ItemResult[DealLink]]:
            nonlocal known
            if known is None:
                known = await self._crm.modules.id_of("Deals")
            return await self._relink_part(part, known, deals)

        return send

    async def _relink_part(
        self, part: list[DealLink], module_id: str, deals: DealContacts
    ) -> list[ItemResult[DealLink]]:
        """One contact's link request and, for the emails it finds linked elsewhere to a deal the contact may be
        linked to, the unlink and the link again; where that second link fails, the old link put back."""
        old: dict[tuple[str, str], LinkedRecord | None] = {}  # where the read-back found each ALREADY_LINKED email
        final = await self._link_settled(part, module_id, old)
        retry_at = [i for i, result in enumerate(final) if result.code == "ALREADY_LINKED"]
        retry_at = await _allowed(part, retry_at, final, old, deals)
        if not retry_at:
            return final
        unlinked = await self._unlink_each([_unlink_of(part[i]) for i in retry_at])
        relink_at: list[int] = []
        for i, result in zip(retry_at, unlinked, strict=True):
            spent = final[i].attempts + result.attempts
            if result.ok:
                relink_at.append(i)
                final[i] = dataclasses.replace(final[i], attempts=spent)
            else:  # a failed unlink is the email's final state
                final[i] = ItemResult(part[i], result.code, result.status, result.message, result.details, spent)
        if relink_at:
            second = await self._send_links([part[i] for i in relink_at], module_id)
            failed_at: list[int] = []
            for i, relinked in zip(relink_at, second, strict=True):
                final[i] = dataclasses.replace(relinked, attempts=relinked.attempts + final[i].attempts)
                if not relinked.ok:
                    failed_at.append(i)
            if failed_at:
                await self._put_back(part, failed_at, final, old, module_id)
        return final

    async def _link_settled(
        self, links: list[DealLink], module_id: str, seen: dict[tuple[str, str], LinkedRecord | None]
    ) -> list[ItemResult[DealLink]]:
        """Link, reading back every ALREADY_LINKED (as ``already_linked_ok=True``); links read go to ``seen``."""
        return await self._read_back(
            await self._send_links(links, module_id), is_linked_as_intended, why="already linked to this deal",
            codes=ALREADY_LINKED, unread=LINK_UNVERIFIED, seen=seen,
        )  # fmt: skip

    async def _put_back(
        self,
        part: list[DealLink],
        failed_at: list[int],
        final: list[ItemResult[DealLink]],
        old: dict[tuple[str, str], LinkedRecord | None],
        module_id: str,
    ) -> None:
        """Link the emails whose second link failed back to the deal they were on, and say so in their results."""
        restore_at = [i for i in failed_at if old.get(email_key(part[i])) is not None]
        restored: dict[int, ItemResult[DealLink]] = {}
        now: dict[tuple[str, str], LinkedRecord | None] = {}
        if restore_at:
            back = [_restore_of(part[i], old[email_key(part[i])]) for i in restore_at]
            restored = dict(zip(restore_at, await self._link_settled(back, module_id, now), strict=True))
        for i in failed_at:
            link, restore = part[i], restored.get(i)
            linked = now.get(email_key(link))
            if restore is not None and not restore.ok and linked is not None and linked.id == link.deal_id:
                # The second link's answer was lost but it had been applied: the relink is done after all.
                final[i] = dataclasses.replace(
                    final[i], code=SUCCESS, status="success", message="linked to this deal (read back)",
                    details={}, attempts=final[i].attempts + restore.attempts,
                )  # fmt: skip
            else:
                final[i] = _with_restore(final[i], restore, old.get(email_key(link)))

    async def _unlink_each(self, unlinks: list[DealUnlink]) -> list[ItemResult[DealUnlink]]:
        """Unlink one contact's emails, one request per owner (and per 2,000 characters of ids), in input order."""
        window = unlink_window(MAX_UNLINK_IDS, MAX_UNLINK_CHARS, None)
        for index, unlink in enumerate(unlinks):
            window.add(index, unlink)
        window.flush()
        results: list[ItemResult[DealUnlink] | None] = [None] * len(unlinks)
        for chunk in window.ready:
            for index, result in zip(chunk.indexes, await self._send_unlinks(chunk.items), strict=True):
                results[index] = result
        return [result for result in results if result is not None]


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
        note, extra = f"its link to deal {old.id} was put back", {"restored_deal_id": str(old.id)}
    else:
        code = restore.code if restore is not None else "NOT_SENT"
        note = f"putting back its link to deal {old.id} failed too ({code}): it is linked to no deal"
        extra = {"restore_failed": code, "previous_deal_id": str(old.id)}
    message = f"{failed.message}; {note}".lstrip("; ")
    attempts = failed.attempts + (restore.attempts if restore is not None else 0)
    return dataclasses.replace(failed, message=message, details={**failed.details, **extra}, attempts=attempts)
