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
    BeforeUnlink,
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
#: A first link's answers that mean the email is on a deal now: nothing to put back.
_LINKED_SOMEWHERE = frozenset({"ALREADY_LINKED", LINK_UNVERIFIED})


class Relinking(Linking):
    """The relink methods of ``crm.emails``: link, then unlink and link again where Zoho says ALREADY_LINKED."""

    async def relink(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        on_progress: ProgressCallback | None = None,
        before_unlink: BeforeUnlink | None = None,
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
        restore that failed too). Every result of an email taken off a deal names that deal
        (``details["previous_deal_id"]``), whatever became of it.

        A process stopped between an unlink and the link after it (killed, cancelled, out of credits) would leave
        the email on no deal, and only this call knew where it was. ``before_unlink`` is awaited before each unlink
        request with the links about to be unlinked, each carrying the deal it is on now as ``previous_deal_id``;
        nothing is unlinked until it returns, and if it raises nothing is unlinked and the call fails with it. Keep
        them durably (a journal commits them) and give them back as the items of the relink that resumes: an email
        found on no deal whose link fails is put back on its ``previous_deal_id``.
        ``relink_stream`` does the same in constant memory.
        """
        links = validated(await materialize(items), DealLink)
        module_id = deals_module_id or await self._crm.modules.id_of("Deals")
        send = self._relink_sender(module_id, DealContacts(self._crm), before_unlink)
        return await self._collect(links, send, link_window(MAX_LINK_ITEMS, None), concurrency, on_progress)

    def relink_stream(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        window: int = DEFAULT_WINDOW,
        before_unlink: BeforeUnlink | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[DealLink]]:
        """``relink`` for input of any size in constant memory: each item's final state as its steps complete.

        Grouped, ordered and bounded as ``link_deal_stream``; an item's result comes once, when it is final.
        Each target deal is read once per stream, of the last 1,024 deals asked about (an older one is read
        again if asked again), so memory stays bounded whatever the number of deals.
        """
        send = self._relink_sender(deals_module_id, DealContacts(self._crm), before_unlink)
        window_ = link_window(MAX_LINK_ITEMS, window)
        return self._stream(items, send, window_, concurrency, check=check_link, pending_key=email_key)

    def plan_relink(
        self, items: Iterable[DealLink], *, deals_module_id: str | None = None
    ) -> list[PlannedRequest[DealLink]]:
        """The requests ``relink`` sends first (its link requests); nothing is sent. The reads, unlink and second
        link an email needs depend on Zoho's answer (ALREADY_LINKED), so they cannot be planned."""
        return plan_relink(items, deals_module_id=deals_module_id, api_version=self._crm.api_version)

    def _relink_sender(
        self, module_id: str | None, deals: DealContacts, before_unlink: BeforeUnlink | None
    ) -> Sender[DealLink]:
        """Relinks one contact's emails; learns the Deals module's id at the first request if not given."""
        known = module_id

        async def send(part: list[DealLink]) -> list[ItemResult[DealLink]]:
            nonlocal known
            if known is None:
                known = await self._crm.modules.id_of("Deals")
            return await self._relink_part(part, known, deals, before_unlink)

        return send

    async def _relink_part(
        self, part: list[DealLink], module_id: str, deals: DealContacts, before_unlink: BeforeUnlink | None
    ) -> list[ItemResult[DealLink]]:
        """One contact's link request and, for the emails it finds linked elsewhere to a deal the contact may be
        linked to, the unlink and the link again; where that second link fails, the old link put back. An email
        an earlier relink left on no deal (its ``previous_deal_id`` given) whose link fails is put back too."""
        old: dict[tuple[str, str], LinkedRecord | None] = {}  # where the read-back found each ALREADY_LINKED email
        final = await self._link_settled(part, module_id, old)
        await self._put_back_stranded(part, final, module_id)
        retry_at = [i for i, result in enumerate(final) if result.code == "ALREADY_LINKED"]
        retry_at = await _allowed(part, retry_at, final, old, deals)
        if not retry_at:
            return final
        moving = [_moving(part[i], old[email_key(part[i])]) for i in retry_at]
        if before_unlink is not None:  # e.g. a journal commits where each email was before it can be on none
            await before_unlink(moving)
        unlinked = await self._unlink_each([_unlink_of(link) for link in moving])
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
            second = await self._send_links([part[i] for i in relink_at], module_id)
            failed_at: list[int] = []
            for i, relinked in zip(relink_at, second, strict=True):
                final[i] = _moved_from(
                    dataclasses.replace(relinked, attempts=relinked.attempts + final[i].attempts),
                    old[email_key(part[i])],
                )
                if not relinked.ok:
                    failed_at.append(i)
            if failed_at:
                await self._put_back(part, failed_at, final, old, module_id)
        return final

    async def _put_back_stranded(self, part: list[DealLink], final: list[ItemResult[DealLink]], module_id: str) -> None:
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
            await self._put_back(part, failed_at, final, previous, module_id)

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
                done = dataclasses.replace(
                    final[i], code=SUCCESS, status="success", message="linked to this deal (read back)",
                    details={}, attempts=final[i].attempts + restore.attempts,
                )  # fmt: skip
                final[i] = _moved_from(done, old.get(email_key(link)))
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
        code = restore.code if restore is not None else "NOT_SENT"
        note = f"putting back its link to deal {old.id} failed too ({code}): it is linked to no deal"
        extra = {"restore_failed": code, "previous_deal_id": str(old.id)}
    message = f"{failed.message}; {note}".lstrip("; ")
    attempts = failed.attempts + (restore.attempts if restore is not None else 0)
    return dataclasses.replace(failed, message=message, details={**failed.details, **extra}, attempts=attempts)
