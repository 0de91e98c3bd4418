"""Reading a record's emails (Get Emails of a Record, Get an Email), and where each email is linked."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager

from msgspec import UNSET, UnsetType

from .._client import ZohoCRM, raise_for_status
from .._cursors import CursorChain
from .._decode import decode_or_raise
from .._errors import APIError, InvalidRequestError, NotFoundError, PermissionDeniedError, ResponseDecodeError
from .._fanout import Stream, fan_out
from ..models import Email, EmailsPage, EmailSummary, LinkedRecord, decode_email_envelope, decode_emails_page
from ..validation import check_message_id, check_numeric_id

__all__ = ["EMAIL_TYPES", "MAX_EMAIL_PAGES", "EmailReader", "each_email"]

#: 10,000 pages of 10: a record with more than 100,000 emails is taken for a server that never stops paging.
MAX_EMAIL_PAGES = 10_000
#: Get Emails of a Record answers 10 emails a page.
EMAILS_PER_PAGE = 10

#: The ``type`` values Get Emails of a Record accepts.
EMAIL_TYPES = frozenset(
    {
        "sent_from_crm",
        "scheduled_in_crm",
        "drafts",
        "user_emails",
        "all_contacts_sent_crm_emails",
        "all_contacts_scheduled_crm_emails",
        "all_contacts_draft_crm_emails",
    }
)


class EmailReader:
    """The reading half of ``crm.emails``, and what the write ops read back through."""

    __slots__ = ("_crm",)

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm

    async def page(
        self,
        module: str,
        record_id: str | int,
        *,
        index: str | None = None,
        type: str | None = None,
        owner_id: str | int | None = None,
    ) -> EmailsPage:
        """``Emails.page`` (documented there): one page of Get Emails of a Record."""
        record = check_numeric_id(record_id, "record_id")
        params: dict[str, str] = {}
        if type is not None:
            if type not in EMAIL_TYPES:
                raise ValueError(f"type must be one of {sorted(EMAIL_TYPES)}, got {type!r}")
            params["type"] = type
        if owner_id is not None:
            if type != "user_emails":
                raise ValueError("owner_id is only allowed with type='user_emails' (Zoho's rule)")
            params["owner_id"] = check_numeric_id(owner_id, "owner_id")
        if index is not None:
            params["index"] = index
        response = await self._crm.request(
            "GET", f"/{module}/{record}/Emails", operation="emails.list", params=params or None
        )
        if response.status == 204:
            return EmailsPage()
        page = decode_or_raise(decode_emails_page, raise_for_status(response))
        if self._crm.modules.known_id("Deals") is None:
            _remember_deals_module(self._crm, page)
        return page

    async def pages(
        self,
        module: str,
        record_id: str | int,
        *,
        type: str | None = None,
        owner_id: str | int | None = None,
        max_pages: int = MAX_EMAIL_PAGES,
    ) -> AsyncGenerator[list[EmailSummary], None]:
        """Each page's emails of a record, in order, following the cursor chain (``Emails.iterate``)."""
        index: str | None = None
        chain = CursorChain(f"Get Emails of {module} {record_id}", max_pages)
        while True:
            page = await self.page(module, record_id, index=index, type=type, owner_id=owner_id)
            yield page.Emails
            next_index = page.info.next_index
            # more_records may be null (Zoho's schema): a cursor then says there is more.
            if page.info.more_records is False or not page.Emails or not next_index:
                return
            index = chain.follow(next_index)

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
        """``Emails.iterate_many`` (documented there): each record's pages fanned out, in bounded memory."""
        ids = [check_numeric_id(record_id, "record_id") for record_id in record_ids]  # all refused before any request
        if buffer < 0:
            raise ValueError("buffer must not be negative")

        def produce(record_id: str) -> AsyncIterator[list[EmailSummary]]:
            pages = self.pages(module, record_id, type=type, owner_id=owner_id)
            return pages if on_refused is None else _skipping_refused(record_id, pages, on_refused)

        # The buffer holds whole pages (10 emails each): ``buffer`` emails, rounded up to a page.
        return fan_out(ids, produce, concurrency=concurrency, buffer=-(-buffer // EMAILS_PER_PAGE))

    async def lookup(self, module: str, record_id: str | int, message_ids: Iterable[str]) -> dict[str, EmailSummary]:
        """``Emails.lookup`` (documented there): pages until every one of ``message_ids`` is found."""
        wanted = {check_message_id(message_id) for message_id in message_ids}
        found: dict[str, EmailSummary] = {}
        if not wanted:
            return found
        async with contextlib.aclosing(each_email(self.pages(module, record_id))) as emails:
            async for email in emails:
                if email.message_id is not None and email.message_id in wanted:
                    found[email.message_id] = email
                    if len(found) == len(wanted):
                        break
        return found

    async def where_linked(self, contact_id: str | int, message_ids: Iterable[str]) -> dict[str, LinkedRecord | None]:
        """``Emails.where_linked`` (documented there): the Get Emails list first, an email it leaves unsaid alone."""
        wanted = list(message_ids)
        found = await self.lookup("Contacts", contact_id, wanted)
        links: dict[str, LinkedRecord | None] = {}
        for message_id in wanted:
            email: EmailSummary | Email | None = found.get(message_id)
            if email is None or isinstance(email.linked_record, UnsetType):
                try:
                    email = await self.get("Contacts", contact_id, message_id)
                except (APIError, ResponseDecodeError):
                    continue
            if not isinstance(email.linked_record, UnsetType):
                links[message_id] = _deal_of(email.linked_record)
        return links

    async def get(self, module: str, record_id: str | int, message_id: str) -> Email:
        """One email with its body (``content``): ``GET /{module}/{record_id}/Emails/{message_id}``."""
        record = check_numeric_id(record_id, "record_id")
        check_message_id(message_id)
        response = await self._crm.request("GET", f"/{module}/{record}/Emails/{message_id}", operation="emails.get")
        if response.status == 204:
            raise ResponseDecodeError("Zoho returned no email (204)", status=204)
        envelope = decode_or_raise(decode_email_envelope, raise_for_status(response))
        if not envelope.Emails:
            raise ResponseDecodeError("Zoho returned an empty Emails array", status=response.status)
        return envelope.Emails[0]


async def each_email(pages: AsyncGenerator[list[EmailSummary], None]) -> AsyncGenerator[EmailSummary, None]:
    """The emails of ``pages``, one at a time, in order; closing this closes the pages (no request left out)."""
    async with contextlib.aclosing(pages):
        async for emails in pages:
            for email in emails:
                yield email


#: Zoho's answers that concern one record only: the other records of a fan-out can still be read.
_RECORD_REFUSALS = (InvalidRequestError, NotFoundError, PermissionDeniedError)


async def _skipping_refused(
    record_id: str, pages: AsyncGenerator[list[EmailSummary], None], on_refused: Callable[[str, APIError], None]
) -> AsyncGenerator[list[EmailSummary], None]:
    async with contextlib.aclosing(pages):
        try:
            async for emails in pages:
                yield emails
        except _RECORD_REFUSALS as exc:
            on_refused(record_id, exc)


def _remember_deals_module(crm: ZohoCRM, page: EmailsPage) -> None:
    """Keep the Deals module's id when a linked record shows it: link bodies need it, and here it comes free."""
    for email in page.Emails:
        linked = email.linked_record
        if linked is None or linked is UNSET:
            # The common case, on every page until a deal shows: no call at all (figure 1 of ``benchmarks/``).
            continue
        module = linked.module if isinstance(linked, LinkedRecord) else None
        if module is not None and module.api_name == "Deals" and isinstance(module.id, str) and module.id:
            crm.modules.remember("Deals", module.id)
            return


def _deal_of(linked: LinkedRecord | None) -> LinkedRecord | None:
    """A linked record with no id (every field null, as Zoho's schema allows) links to nothing."""
    return linked if linked is not None and linked.id else None
