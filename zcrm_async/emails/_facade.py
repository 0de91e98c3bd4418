"""``crm.emails``: a flat facade of short methods. Reading goes to ``EmailReader``; each bulk write builds its op
(``_link_ops``, ``_relink``, ``_associate``) and hands it to the one runner (``_runner.BulkRunner``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from .._bulk import BulkResult, ItemResult
from .._errors import APIError
from .._fanout import Stream
from .._runner import BulkRunner, ProgressCallback
from .._streaming import DEFAULT_WINDOW, BulkStream
from ..models import AssociateEmail, Email, EmailsPage, EmailSummary, LinkedRecord
from ._associate import associate_op
from ._items import (
    ASSOCIATE_CHUNK,
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    BeforeUnlink,
    DealLink,
    DealUnlink,
    validated,
)
from ._link_ops import link_op, single_link_op, unlink_op
from ._reading import MAX_EMAIL_PAGES, EmailReader, each_email
from ._relink import RelinkOp
from ._requests import PlannedRequest, plan_link_deal, plan_relink, plan_unlink_deal

if TYPE_CHECKING:
    from .._client import ZohoCRM

T = TypeVar("T")

__all__ = ["Emails"]


class Emails:
    """``crm.emails``: every Emails endpoint. Bulk methods chunk for you and never raise for partial failure."""

    __slots__ = ("_bulk", "_crm", "_reader")

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm
        self._reader = EmailReader(crm)
        self._bulk = BulkRunner(crm)

    async def page(
        self,
        module: str,
        record_id: str | int,
        *,
        index: str | None = None,
        type: str | None = None,
        owner_id: str | int | None = None,
    ) -> EmailsPage:
        """One page (10 emails) of Get Emails of a Record; pass ``info.next_index`` as ``index`` for the next.

        Raises:
            ValueError: a bad record id, ``type``, or ``owner_id`` without ``type="user_emails"``.
            APIError: Zoho refused (e.g. CANNOT_PROCESS while the mailbox syncs).
        """
        return await self._reader.page(module, record_id, index=index, type=type, owner_id=owner_id)

    def iterate(
        self,
        module: str,
        record_id: str | int,
        *,
        type: str | None = None,
        owner_id: str | int | None = None,
        max_pages: int = MAX_EMAIL_PAGES,
    ) -> AsyncGenerator[EmailSummary, None]:
        """Every email of a record, following ``info.next_index`` until ``more_records`` is false or a page is
        empty.

        Raises:
            PaginationError: the server gave a cursor twice, or more than ``max_pages`` pages (10 emails each):
                following it would never end, and what was read is incomplete.
        """
        return each_email(self._reader.pages(module, record_id, type=type, owner_id=owner_id, max_pages=max_pages))

    def iterate_many(
        self,
        module: str,
        record_ids: Iterable[str | int],
        *,
        concurrency: int = 8,
        buffer: int = 100,
        type: str | None = None,
        owner_id: str | int | None = None,
        on_refused: Callable[[str, APIError], None] | None = None,
    ) -> AbstractAsyncContextManager[Stream[tuple[str, EmailSummary]]]:
        """The emails of many records at once: ``(record_id, email)`` pairs as they arrive.

        Records fan out ``concurrency`` at a time; each record's pages stay in order. Memory is bounded by
        ``buffer``. Leaving the block early cancels every request in flight::

            async with crm.emails.iterate_many("Contacts", ids) as stream:
                async for record_id, email in stream:
                    ...

        Args:
            on_refused: called with the record's id and Zoho's refusal when Zoho refuses one record's emails
                (``InvalidRequestError``, e.g. INVALID_DATA for a deleted record; ``NotFoundError``;
                ``PermissionDeniedError``); that record is skipped (the emails already yielded stay) and the
                others go on. Without it the refusal ends the stream. Other errors (the credentials, the
                credits, an unreachable server) end it either way: every record would fail the same.
        """
        return self._reader.iterate_many(
            module,
            record_ids,
            concurrency=concurrency,
            buffer=buffer,
            type=type,
            owner_id=owner_id,
            on_refused=on_refused,
        )

    async def lookup(self, module: str, record_id: str | int, message_ids: Iterable[str]) -> dict[str, EmailSummary]:
        """The record's emails among ``message_ids``, as Get Emails of a Record lists them (with ``linked_record``).

        Pages through the record's emails and stops as soon as every one is found; ids not on the record are
        absent from the result. This is how to read where an email is linked: the single-email endpoint's
        answer has no ``linked_record``.
        """
        return await self._reader.lookup(module, record_id, message_ids)

    async def where_linked(self, contact_id: str | int, message_ids: Iterable[str]) -> dict[str, LinkedRecord | None]:
        """The deal each of a contact's emails is linked to (None: not linked), for the emails whose link could be
        read; the others are absent.

        Reads the contact's Get Emails list (``lookup``), which is where Zoho shows links; an email the list does
        not show, or shows without ``linked_record``, is asked for alone, in case a server puts it there.
        """
        return await self._reader.where_linked(contact_id, message_ids)

    async def get(self, module: str, record_id: str | int, message_id: str) -> Email:
        """One email with its body (``content``): ``GET /{module}/{record_id}/Emails/{message_id}``."""
        return await self._reader.get(module, record_id, message_id)

    async def link_deal(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        chunk_size: int = MAX_LINK_ITEMS,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        already_linked_ok: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealLink]:
        """Link any number of contacts' emails to deals (Link Deal to Emails, v8); every result, in input order.

        Items are grouped by contact (the endpoint is per contact) and sent ``chunk_size`` a request, concurrently
        within the client's budget. When a retry is answered ALREADY_LINKED (the lost first try did link), the
        email is read back and reported SUCCESS if it is linked to the intended deal. This form holds the whole
        input and every result; ``link_deal_stream`` does the same work in constant memory.

        Args:
            items: what to link: any iterable or async iterable.
            chunk_size: emails per request (Zoho's maximum, 20, by default).
            concurrency: requests at once (the budget's concurrency by default; the budget caps it anyway).
            deals_module_id: the Deals module's id (``linked_record.module.id``, which Zoho requires). By default
                the client learns it once (``crm.modules``: free from any Get Emails answer that showed a linked
                deal, else one Get Module by API name call, which needs the ZohoCRM.settings.modules.READ scope).
            already_linked_ok: read back every ALREADY_LINKED (one list read per contact and request) and report
                SUCCESS for emails already linked to the intended deal: "make it so" rather than Zoho's answer.
                One whose deal cannot be read is reported LINK_UNVERIFIED. Off by default, so a caller sees
                what Zoho said.
            on_progress: called with the results of each request as it completes.

        Raises:
            ValueError: an empty input, or an item with a bad id, message id or missing owner (nothing is sent).
            AuthenticationError: the credentials were refused (every request would fail).
            MissingScopeError: no ``deals_module_id`` and the token may not read module metadata (nothing sent).
        """
        op = link_op(
            self._crm, chunk_size=chunk_size, deals_module_id=deals_module_id, already_linked_ok=already_linked_ok
        )
        return await self._bulk.run(op, items, concurrency=concurrency, on_progress=on_progress)

    def link_deal_stream(
        self,
        items: Iterable[DealLink] | AsyncIterable[DealLink],
        *,
        chunk_size: int = MAX_LINK_ITEMS,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        already_linked_ok: bool = False,
        window: int = DEFAULT_WINDOW,
    ) -> AbstractAsyncContextManager[BulkStream[DealLink]]:
        """``link_deal`` for input of any size in constant memory: each item's result as its request completes::

            async with crm.emails.link_deal_stream(read_rows()) as results:
                async for index, result in results:
                    ...  # index: the item's position in the input; result.item: the item

        Results come in the order requests complete, not in input order; one request's items come together, in
        input order. The input is read only as fast as requests go: memory holds ``window`` items being grouped,
        one request per worker and ``concurrency`` requests' results waiting for you, however long the input.

        Grouping: items are grouped by contact within the window; a contact's request leaves when it has
        ``chunk_size`` emails, or, when the window is full, the contact touched longest ago leaves as it is. Input
        grouped or sorted by contact is sent in the minimum number of requests, as ``link_deal`` would send it.
        Unsorted input is grouped as far as the window reaches: a contact whose emails lie further apart than
        ``window`` items takes more, smaller requests (the count is minimal among the items held at any time).

        Bad items do not stop the stream: an item that fails ``link_deal``'s checks comes out as ``INVALID_ITEM``
        with nothing sent for it, as does an email repeated while its first is still being sent. Leaving the block
        early cancels every request in flight; their items' outcomes are unknown (a write may have reached Zoho).
        Other arguments as ``link_deal``; an ``AuthenticationError`` or ``MissingScopeError`` (the Deals module's
        id, when not given nor known, is looked up from the moment the stream is entered, while the first items are
        read and grouped, and before any link is sent) stops the stream and is raised from the ``async with``.
        """
        op = link_op(
            self._crm, chunk_size=chunk_size, deals_module_id=deals_module_id, already_linked_ok=already_linked_ok
        )
        return self._learning_deals_id(
            deals_module_id, self._bulk.stream(op, items, concurrency=concurrency, window=window)
        )

    async def link(
        self,
        contact_id: str | int,
        message_id: str,
        *,
        deal_id: str | int,
        owner_id: str | int,
        deal_name: str | None = None,
        owner_name: str | None = None,
        deals_module_id: str | None = None,
    ) -> ItemResult[DealLink]:
        """Link one email to a deal through the single-message endpoint; for request handlers.

        ``POST /Contacts/{contact_id}/Emails/{message_id}/actions/link_record``. Never raises for Zoho's
        per-item refusals (read ``.code``); raises ``AuthenticationError`` and ``ValueError`` for bad input.
        """
        link = DealLink(
            contact_id=str(contact_id),
            message_id=message_id,
            deal_id=str(deal_id),
            owner_id=str(owner_id),
            deal_name=deal_name,
            owner_name=owner_name,
        )
        (item,) = validated([link], DealLink)
        module_id = deals_module_id or await self._crm.modules.id_of("Deals")
        (result,) = await single_link_op(self._crm, module_id).write([item])
        return result

    async def unlink_deal(
        self,
        items: Iterable[DealUnlink] | AsyncIterable[DealUnlink],
        *,
        max_ids: int = MAX_UNLINK_IDS,
        max_chars: int = MAX_UNLINK_CHARS,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealUnlink]:
        """Unlink any number of emails from their deals (Unlink Deal from Emails, v8); every result, in input order.

        Items are grouped by contact and owner; each request's ``message_ids`` holds at most ``max_ids`` ids and
        ``max_chars`` characters, split on whole ids. An email that was not linked ends as asked: it is reported
        ``NOT_LINKED`` with status success (Zoho answers a bare INVALID_DATA, so the contact's list is read back to
        tell it from an unknown email, which stays INVALID_DATA). ``unlink_deal_stream`` does the same in constant
        memory.
        """
        op = unlink_op(self._crm, max_ids=max_ids, max_chars=max_chars)
        return await self._bulk.run(op, items, concurrency=concurrency, on_progress=on_progress)

    def unlink_deal_stream(
        self,
        items: Iterable[DealUnlink] | AsyncIterable[DealUnlink],
        *,
        max_ids: int = MAX_UNLINK_IDS,
        max_chars: int = MAX_UNLINK_CHARS,
        concurrency: int | None = None,
        window: int = DEFAULT_WINDOW,
    ) -> AbstractAsyncContextManager[BulkStream[DealUnlink]]:
        """``unlink_deal`` for input of any size in constant memory; as ``link_deal_stream``, grouped by contact
        and owner (input sorted by contact is sent in the minimum number of requests)."""
        op = unlink_op(self._crm, max_ids=max_ids, max_chars=max_chars)
        return self._bulk.stream(op, items, concurrency=concurrency, window=window)

    def plan_link_deal(
        self, items: Iterable[DealLink], *, chunk_size: int = MAX_LINK_ITEMS, deals_module_id: str | None = None
    ) -> list[PlannedRequest[DealLink]]:
        """The requests ``link_deal`` would send, built by the code that sends them; nothing is sent."""
        return plan_link_deal(
            items, chunk_size=chunk_size, deals_module_id=deals_module_id, api_version=self._crm.api_version
        )

    def plan_unlink_deal(
        self, items: Iterable[DealUnlink], *, max_ids: int = MAX_UNLINK_IDS, max_chars: int = MAX_UNLINK_CHARS
    ) -> list[PlannedRequest[DealUnlink]]:
        """The requests ``unlink_deal`` would send, built by the code that sends them; nothing is sent."""
        return plan_unlink_deal(items, max_ids=max_ids, max_chars=max_chars, api_version=self._crm.api_version)

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
        op = RelinkOp(self._crm, deals_module_id=deals_module_id, before_unlink=before_unlink)
        return await self._bulk.run(op, items, concurrency=concurrency, on_progress=on_progress)

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
        op = RelinkOp(self._crm, deals_module_id=deals_module_id, before_unlink=before_unlink)
        return self._learning_deals_id(
            deals_module_id, self._bulk.stream(op, items, concurrency=concurrency, window=window)
        )

    def _learning_deals_id(
        self, given: str | None, stream: AbstractAsyncContextManager[BulkStream[DealLink]]
    ) -> AbstractAsyncContextManager[BulkStream[DealLink]]:
        """A link stream that, when no Deals module id was given and none is known, looks it up from the moment it
        is entered, while the first items are read and grouped (``Modules.learning``). The list forms cannot: they
        send nothing at all, not even that lookup, until the whole input has passed its checks."""
        return stream if given else _inside(self._crm.modules.learning("Deals"), stream)

    def plan_relink(
        self, items: Iterable[DealLink], *, deals_module_id: str | None = None
    ) -> list[PlannedRequest[DealLink]]:
        """The requests ``relink`` sends first (its link requests); nothing is sent. The reads, unlink and second
        link an email needs depend on Zoho's answer (ALREADY_LINKED), so they cannot be planned."""
        return plan_relink(items, deals_module_id=deals_module_id, api_version=self._crm.api_version)

    async def associate_emails(
        self,
        module: str,
        record_id: str | int,
        emails: Iterable[AssociateEmail] | AsyncIterable[AssociateEmail],
        *,
        chunk_size: int = ASSOCIATE_CHUNK,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[AssociateEmail]:
        """Log emails that are not in CRM yet onto a record (Associate Email with a Record); every result.

        A ``DUPLICATE_DATA`` result means the ``original_message_id`` is already associated with the record;
        when it answers a retry, the lost first try did it, and it is reported SUCCESS. ``chunk_size`` is 1 by
        default (Zoho's own example refuses a second email in one request); up to 50 where a server takes more.
        Every email is checked before the first request. ``associate_emails_stream`` does the same in constant
        memory.
        """
        op = associate_op(self._crm, module, record_id, chunk_size=chunk_size)
        return await self._bulk.run(op, emails, concurrency=concurrency, on_progress=on_progress)

    def associate_emails_stream(
        self,
        module: str,
        record_id: str | int,
        emails: Iterable[AssociateEmail] | AsyncIterable[AssociateEmail],
        *,
        chunk_size: int = ASSOCIATE_CHUNK,
        concurrency: int | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[AssociateEmail]]:
        """``associate_emails`` for input of any size in constant memory: ``(index, result)`` as each request
        completes (see ``link_deal_stream``). Emails are sent ``chunk_size`` a request (1 by default) in input
        order; a bad one comes out as ``INVALID_ITEM`` with nothing sent for it."""
        op = associate_op(self._crm, module, record_id, chunk_size=chunk_size)
        return self._bulk.stream(op, emails, concurrency=concurrency)


@asynccontextmanager
async def _inside(outer: AbstractAsyncContextManager[None], inner: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """``inner`` entered within ``outer``, as one context."""
    async with outer, inner as value:
        yield value
