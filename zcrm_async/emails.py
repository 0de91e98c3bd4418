"""The Emails resource: read a record's emails, and link, unlink, relink and associate them in bulk.

Zoho's pages: Get Emails of a Record, Link Deal to Emails / Unlink Deal from Emails (v8), Associate Email with
a Record (``shared/zoho-docs/``). Methods here build requests and read responses; the client does the HTTP.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar, cast

import msgspec
from msgspec import UnsetType

from ._bulk import (
    NO_RESULT,
    SUCCESS,
    UNREADABLE,
    BulkResult,
    Chunk,
    ItemResult,
    chunk_joined,
    fail_transport,
    group_chunks,
    results_from_response,
    run_chunks,
    sequential_chunks,
)
from ._client import raise_for_status
from ._errors import APIError, ResponseDecodeError, TransportError
from ._paginate import Stream, fan_out
from ._transport import Response
from ._validate import InvalidItemError, check_message_id, check_not_empty, check_numeric_id
from .models import (
    AssociateEmail,
    Email,
    EmailsPage,
    EmailSummary,
    LinkedRecord,
    LinkItem,
    ModuleRef,
    Owner,
    decode_email_envelope,
    decode_emails_page,
    encode_associate_body,
    encode_link_body,
)

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["DealLink", "DealUnlink", "Emails"]

T = TypeVar("T")

#: Zoho's OAS: at most 20 emails per link request, ``message_ids`` at most 2,000 characters (FACTS.md 5).
MAX_LINK_ITEMS = 20
MAX_UNLINK_IDS = 20
MAX_UNLINK_CHARS = 2000
MAX_ASSOCIATE_ITEMS = 20
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

ProgressCallback = Callable[[Sequence[ItemResult[Any]]], None]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DealLink:
    """Link the contact's email ``message_id`` to the deal ``deal_id``, as the user ``owner_id``.

    ``module`` is the linked record's module: Zoho links emails to Deals only, so anything else is refused.
    """

    contact_id: str
    message_id: str
    deal_id: str
    owner_id: str
    deal_name: str | None = None
    owner_name: str | None = None
    module: str = "Deals"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DealUnlink:
    """Unlink the contact's email ``message_id`` from whatever deal it is linked to, as ``owner_id``."""

    contact_id: str
    message_id: str
    owner_id: str


class Emails:
    """``crm.emails``: every Emails endpoint. Bulk methods chunk for you and never raise for partial failure."""

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm

    # -- reading ---------------------------------------------------------------------------------------------

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
        return _decode(decode_emails_page, raise_for_status(response))

    async def iterate(
        self,
        module: str,
        record_id: str | int,
        *,
        type: str | None = None,
        owner_id: str | int | None = None,
    ) -> AsyncGenerator[EmailSummary, None]:
        """Every email of a record, following ``info.next_index`` until ``more_records`` is false."""
        index: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.page(module, record_id, index=index, type=type, owner_id=owner_id)
            for email in page.Emails:
                yield email
            next_index = page.info.next_index
            if not page.info.more_records or not page.Emails or not next_index or next_index in seen:
                return  # the last page; a repeated cursor would loop forever, so it ends the chain too
            seen.add(next_index)
            index = next_index

    def iterate_many(
        self,
        module: str,
        record_ids: Iterable[str | int],
        *,
        concurrency: int = 8,
        buffer: int = 100,
        type: str | None = None,
        owner_id: str | int | None = None,
    ) -> AbstractAsyncContextManager[Stream[tuple[str, EmailSummary]]]:
        """The emails of many records at once: ``(record_id, email)`` pairs as they arrive.

        Records fan out ``concurrency`` at a time; each record's pages stay in order. Memory is bounded by
        ``buffer``. Leaving the block early cancels every request in flight::

            async with crm.emails.iterate_many("Contacts", ids) as stream:
                async for record_id, email in stream:
                    ...
        """
        ids = [check_numeric_id(record_id, "record_id") for record_id in record_ids]  # all refused before any request

        def produce(record_id: str) -> AsyncIterator[EmailSummary]:
            return self.iterate(module, record_id, type=type, owner_id=owner_id)

        return fan_out(ids, produce, concurrency=concurrency, buffer=buffer)

    async def lookup(self, module: str, record_id: str | int, message_ids: Iterable[str]) -> dict[str, EmailSummary]:
        """The record's emails among ``message_ids``, as Get Emails of a Record lists them (with ``linked_record``).

        Pages through the record's emails and stops as soon as every one is found; ids not on the record are
        absent from the result. This is how to read where an email is linked: the single-email endpoint's
        answer has no ``linked_record``.
        """
        wanted = {check_message_id(message_id) for message_id in message_ids}
        found: dict[str, EmailSummary] = {}
        if not wanted:
            return found
        async with contextlib.aclosing(self.iterate(module, record_id)) as emails:
            async for email in emails:
                if email.message_id in wanted:
                    found[email.message_id] = email
                    if len(found) == len(wanted):
                        break
        return found

    async def where_linked(self, contact_id: str | int, message_ids: Iterable[str]) -> dict[str, LinkedRecord | None]:
        """The deal each of a contact's emails is linked to (None: not linked), for the emails whose link could be
        read; the others are absent.

        Reads the contact's Get Emails list (``lookup``), which is where Zoho shows links; an email the list does
        not show, or shows without ``linked_record``, is asked for alone, in case a server puts it there.
        """
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
                links[message_id] = email.linked_record
        return links

    async def get(self, module: str, record_id: str | int, message_id: str) -> Email:
        """One email with its body (``content``): ``GET /{module}/{record_id}/Emails/{message_id}``."""
        record = check_numeric_id(record_id, "record_id")
        check_message_id(message_id)
        response = await self._crm.request(
            "GET", f"/{module}/{record}/Emails/{message_id}", operation="emails.get"
        )
        if response.status == 204:
            raise ResponseDecodeError("Zoho returned no email (204)", status=204)
        envelope = _decode(decode_email_envelope, raise_for_status(response))
        if not envelope.Emails:
            raise ResponseDecodeError("Zoho returned an empty Emails array", status=response.status)
        return envelope.Emails[0]

    # -- link / unlink ---------------------------------------------------------------------------------------

    async def link_deal(
        self,
        items: Iterable[DealLink],
        *,
        chunk_size: int = MAX_LINK_ITEMS,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        already_linked_ok: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealLink]:
        """Link any number of contacts' emails to deals (Link Deal to Emails, v8).

        Items are grouped by contact (the endpoint is per contact) and sent ``chunk_size`` a request, concurrently
        within the client's budget. When a retry is answered ALREADY_LINKED (the lost first try did link), the
        email is read back and reported SUCCESS if it is linked to the intended deal.

        Args:
            items: what to link.
            chunk_size: emails per request (Zoho's maximum, 20, by default).
            concurrency: requests at once (the budget's concurrency by default; the budget caps it anyway).
            deals_module_id: the Deals module's id, sent as ``linked_record.module.id`` when given.
            already_linked_ok: read back every ALREADY_LINKED (one list read per contact and request) and report
                SUCCESS for emails already linked to the intended deal: "make it so" rather than Zoho's answer.
                One whose deal cannot be read is reported LINK_UNVERIFIED. Off by default, so a caller sees
                what Zoho said.
            on_progress: called with the results of each request as it completes.

        Raises:
            ValueError: an empty input, or an item with a bad id, message id or missing owner (nothing is sent).
            AuthenticationError: the credentials were refused (every request would fail).
        """
        links = _validated(items, DealLink)
        _check_chunk_size(chunk_size, MAX_LINK_ITEMS)
        chunks = group_chunks(links, lambda link: link.contact_id, chunk_size)

        async def send(part: list[DealLink]) -> list[ItemResult[DealLink]]:
            results = await self._send_links(part, deals_module_id)
            if already_linked_ok:
                results = await self._verify(
                    results, _is_linked_as_intended, why="already linked to this deal", codes=_ALREADY_LINKED,
                    unread=LINK_UNVERIFIED,
                )  # fmt: skip
            return results

        return await self._run(chunks, send, len(links), concurrency, on_progress)

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
        (item,) = _validated([link], DealLink)
        body = encode_link_body([_link_item(item, deals_module_id, with_message_id=False)])
        path = f"/Contacts/{item.contact_id}/Emails/{item.message_id}/actions/link_record"
        try:
            response = await self._crm.request("POST", path, operation="emails.link", content=body)
        except TransportError as exc:
            return fail_transport([item], exc)[0]
        results = results_from_response([item], response)
        results = await self._settle(results, response, _is_linked_as_intended)
        return results[0]

    async def unlink_deal(
        self,
        items: Iterable[DealUnlink],
        *,
        max_ids: int = MAX_UNLINK_IDS,
        max_chars: int = MAX_UNLINK_CHARS,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealUnlink]:
        """Unlink any number of emails from their deals (Unlink Deal from Emails, v8).

        Items are grouped by contact and owner; each request's ``message_ids`` holds at most ``max_ids`` ids and
        ``max_chars`` characters, split on whole ids.
        """
        unlinks = _validated(items, DealUnlink)
        _check_chunk_size(max_ids, MAX_UNLINK_IDS)
        if max_chars < 1 or max_chars > MAX_UNLINK_CHARS:
            raise ValueError(f"max_chars must be between 1 and {MAX_UNLINK_CHARS}")
        chunks = _unlink_chunks(unlinks, max_ids, max_chars)
        return await self._run(chunks, self._send_unlinks, len(unlinks), concurrency, on_progress)

    async def relink(
        self,
        items: Iterable[DealLink],
        *,
        concurrency: int | None = None,
        deals_module_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealLink]:
        """Make each email linked to the given deal, whatever it is linked to now (Zoho's correction flow).

        Links first; the emails Zoho answers ALREADY_LINKED are read back (the contact's list shows links): those
        already on the intended deal are done, the others are unlinked and linked again, so a correct link is never
        undone. Each item's result is its final state: SUCCESS when the email ends linked to the intended deal,
        else the step that failed.
        """
        links = _validated(items, DealLink)
        report = on_progress or _ignore

        def report_final_links(results: Sequence[ItemResult[DealLink]]) -> None:
            report([result for result in results if result.code != "ALREADY_LINKED"])

        first = await self.link_deal(
            links, concurrency=concurrency, deals_module_id=deals_module_id, already_linked_ok=True,
            on_progress=report_final_links,
        )
        final = list(first.results)
        retry_at = [i for i, result in enumerate(first) if result.code == "ALREADY_LINKED"]
        if not retry_at:
            return first
        position = {(links[i].contact_id, links[i].message_id): i for i in retry_at}

        def as_final(result: ItemResult[Any], attempts: int) -> ItemResult[DealLink]:
            i = position[(result.item.contact_id, result.item.message_id)]
            return ItemResult(links[i], result.code, result.status, result.message, result.details, attempts)

        def report_failed_unlinks(results: Sequence[ItemResult[DealUnlink]]) -> None:
            # A failed unlink is the email's final state; a successful one is not final until the second link.
            report([as_final(r, r.attempts) for r in results if not r.ok])

        unlinked = await self.unlink_deal(
            [DealUnlink(contact_id=links[i].contact_id, message_id=links[i].message_id,
                        owner_id=links[i].owner_id) for i in retry_at],
            concurrency=concurrency,
            on_progress=report_failed_unlinks,
        )
        spent = {i: first[i].attempts + result.attempts for i, result in zip(retry_at, unlinked, strict=True)}
        for i, result in zip(retry_at, unlinked, strict=True):
            if not result.ok:
                final[i] = as_final(result, spent[i])
        relink_at = [i for i, result in zip(retry_at, unlinked, strict=True) if result.ok]
        if relink_at:

            def report_relinked(results: Sequence[ItemResult[DealLink]]) -> None:
                report([as_final(r, r.attempts + spent[position[(r.item.contact_id, r.item.message_id)]])
                        for r in results])

            second = await self.link_deal(
                [links[i] for i in relink_at], concurrency=concurrency, deals_module_id=deals_module_id,
                on_progress=report_relinked,
            )
            for i, relinked in zip(relink_at, second, strict=True):
                final[i] = dataclasses.replace(relinked, attempts=relinked.attempts + spent[i])
        return BulkResult(final)

    # -- associate -------------------------------------------------------------------------------------------

    async def associate_emails(
        self,
        module: str,
        record_id: str | int,
        emails: Iterable[AssociateEmail],
        *,
        chunk_size: int = MAX_ASSOCIATE_ITEMS,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[AssociateEmail]:
        """Log emails that are not in CRM yet onto a record (Associate Email with a Record).

        A ``DUPLICATE_DATA`` result means the ``original_message_id`` is already associated with the record;
        when it answers a retry, the lost first try did it, and it is reported SUCCESS.
        """
        record = check_numeric_id(record_id, "record_id")
        items = list(emails)
        check_not_empty(items, "emails")
        for index, email in enumerate(items):
            if not isinstance(email, AssociateEmail):
                raise TypeError(f"item {index}: expected AssociateEmail, got {type(email).__name__}")
            if not email.original_message_id:
                raise ValueError(f"item {index}: original_message_id is missing")
        _check_chunk_size(chunk_size, MAX_ASSOCIATE_ITEMS)
        chunks = sequential_chunks(items, chunk_size)
        path = f"/{module}/{record}/actions/associate_email"

        async def send(part: list[AssociateEmail]) -> list[ItemResult[AssociateEmail]]:
            response = await self._post(path, "emails.associate", encode_associate_body(part), part)
            if isinstance(response, list):
                return response
            results = results_from_response(part, response)
            if response.replayed:
                results = [_duplicate_as_success(result) for result in results]
            return results

        return await self._run(chunks, send, len(items), concurrency, on_progress)

    # -- plumbing --------------------------------------------------------------------------------------------

    async def _run(
        self,
        chunks: list[Chunk[T]],
        send: Callable[[list[T]], Any],
        total: int,
        concurrency: int | None,
        on_progress: ProgressCallback | None,
    ) -> BulkResult[T]:
        workers = concurrency or self._crm.budget.concurrency
        return await run_chunks(chunks, send, total, concurrency=workers, on_chunk_done=on_progress)

    async def _post(
        self, path: str, operation: str, body: bytes, items: list[T]
    ) -> Response | list[ItemResult[T]]:
        try:
            return await self._crm.request("POST", path, operation=operation, content=body)
        except TransportError as exc:
            return fail_transport(items, exc)

    async def _send_links(self, part: list[DealLink], module_id: str | None) -> list[ItemResult[DealLink]]:
        body = encode_link_body([_link_item(item, module_id) for item in part])
        path = f"/Contacts/{part[0].contact_id}/Emails/actions/link_record"
        response = await self._post(path, "emails.link", body, part)
        if isinstance(response, list):
            return response
        results = results_from_response(part, response, key=_message_id)
        results = await self._settle(results, response, _is_linked_as_intended)
        return results

    async def _send_unlinks(self, part: list[DealUnlink]) -> list[ItemResult[DealUnlink]]:
        first = part[0]
        params = {"owner_id": first.owner_id, "message_ids": ",".join(item.message_id for item in part)}
        try:
            response = await self._crm.request(
                "DELETE",
                f"/Contacts/{first.contact_id}/Emails/actions/link_record",
                operation="emails.unlink",
                params=params,
            )
        except TransportError as exc:
            return fail_transport(part, exc)
        results = results_from_response(part, response, key=_message_id)
        results = await self._settle(results, response, _is_unlinked)
        return results

    async def _settle(
        self, results: list[ItemResult[T]], response: Response, check: Callable[[Any, LinkedRecord | None], bool]
    ) -> list[ItemResult[T]]:
        """Read back the items whose outcome is in doubt: every failure when an earlier try of the request may
        have been applied (it got no response, or a 5xx), else only the items Zoho's answer did not account for."""
        if response.replayed:
            return await self._verify(results, check)
        if any(result.code in _UNKNOWN_OUTCOME for result in results):
            return await self._verify(results, check, why="verified by reading it back", codes=_UNKNOWN_OUTCOME)
        return results

    async def _verify(
        self,
        results: list[ItemResult[T]],
        check: Callable[[Any, LinkedRecord | None], bool],
        *,
        why: str = "verified after a retry",
        codes: frozenset[str] | None = None,
        unread: str | None = None,
    ) -> list[ItemResult[T]]:
        """Read back where the emails of failed results are linked; report SUCCESS where ``check`` holds.

        A write answered "already done" after a lost first try may be our own. An email whose link cannot be
        read keeps Zoho's answer, or gets the code ``unread`` when given (so a caller can tell "linked
        elsewhere" from "could not look"). Each item read back counts one more attempt.
        """
        suspect = [i for i, r in enumerate(results) if not r.ok and (codes is None or r.code in codes)]
        if not suspect:
            return results
        contact = cast(Any, results[suspect[0]].item).contact_id  # a chunk is one contact's
        try:
            links = await self.where_linked(contact, [cast(Any, results[i].item).message_id for i in suspect])
        except (APIError, TransportError, ResponseDecodeError):
            links = {}
        verified = list(results)
        for i in suspect:
            result = results[i]
            message_id = cast(Any, result.item).message_id
            if message_id in links and check(result.item, links[message_id]):
                verified[i] = dataclasses.replace(
                    result, code=SUCCESS, status="success", message=why, attempts=result.attempts + 1
                )
            elif message_id not in links and unread is not None:
                message = f"{result.message}; where it is linked could not be read back".lstrip("; ")
                verified[i] = dataclasses.replace(result, code=unread, message=message, attempts=result.attempts + 1)
            else:
                verified[i] = dataclasses.replace(result, attempts=result.attempts + 1)
        return verified


_UNKNOWN_OUTCOME = frozenset({NO_RESULT, UNREADABLE})
_ALREADY_LINKED = frozenset({"ALREADY_LINKED"})
#: ALREADY_LINKED, but the deal it is linked to could not be read: neither done nor safe to unlink.
LINK_UNVERIFIED = "LINK_UNVERIFIED"


def _ignore(_: Sequence[ItemResult[Any]]) -> None:
    return None


def _message_id(item: DealLink | DealUnlink) -> str:
    return item.message_id


def _is_linked_as_intended(item: DealLink, linked: LinkedRecord | None) -> bool:
    return linked is not None and linked.id == item.deal_id


def _is_unlinked(item: DealUnlink, linked: LinkedRecord | None) -> bool:
    return linked is None


def _duplicate_as_success(result: ItemResult[AssociateEmail]) -> ItemResult[AssociateEmail]:
    if result.code != "DUPLICATE_DATA":
        return result
    return dataclasses.replace(result, code=SUCCESS, status="success", message="associated by an earlier try")


def _link_item(item: DealLink, module_id: str | None, *, with_message_id: bool = True) -> LinkItem:
    module = ModuleRef(api_name="Deals", id=module_id) if module_id else ModuleRef(api_name="Deals")
    return LinkItem(
        owner=Owner(id=item.owner_id, name=item.owner_name) if item.owner_name else Owner(id=item.owner_id),
        message_id=item.message_id if with_message_id else msgspec.UNSET,
        linked_record=LinkedRecord(module=module, id=item.deal_id, name=item.deal_name or msgspec.UNSET),
    )


#: The id fields each kind of item carries, checked as numeric Zoho ids.
_ID_FIELDS: dict[type[Any], tuple[str, ...]] = {
    DealLink: ("contact_id", "deal_id", "owner_id"),
    DealUnlink: ("contact_id", "owner_id"),
}

Item = TypeVar("Item", DealLink, DealUnlink)


def _validated(items: Iterable[Item], kind: type[Item]) -> list[Item]:
    """The items with normalised ids; the first bad one raises, naming its index and field, before any request."""
    checked = list(items)
    check_not_empty(checked, "items")
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(checked):
        if not isinstance(item, kind):
            raise TypeError(f"item {index}: expected {kind.__name__}, got {type(item).__name__}")
        ids = {field: check_numeric_id(getattr(item, field), field, index) for field in _ID_FIELDS[kind]}
        if isinstance(item, DealLink) and item.module != "Deals":
            raise InvalidItemError(index, "module", f"must be 'Deals' (emails link to deals only), got {item.module!r}")
        message_id = check_message_id(item.message_id, "message_id", index)
        first = seen.setdefault((ids["contact_id"], message_id), index)
        if first != index:  # two answers for one email: whichever Zoho applied last, one of them would be wrong
            raise InvalidItemError(index, "message_id", f"repeats item {first} (the same email of the same contact)")
        checked[index] = dataclasses.replace(item, message_id=message_id, **ids)
    return checked


def _unlink_chunks(items: list[DealUnlink], max_ids: int, max_chars: int) -> list[Chunk[DealUnlink]]:
    groups: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault((item.contact_id, item.owner_id), []).append(index)
    chunks: list[Chunk[DealUnlink]] = []
    for indexes in groups.values():
        position = 0
        for ids in chunk_joined([items[i].message_id for i in indexes], max_count=max_ids, max_chars=max_chars):
            part = indexes[position : position + len(ids)]
            position += len(ids)
            chunks.append(Chunk(part, [items[i] for i in part]))
    return chunks


def _check_chunk_size(size: int, maximum: int) -> None:
    if not 1 <= size <= maximum:
        raise ValueError(f"chunk size must be between 1 and {maximum} (Zoho's limit), got {size}")


def _decode(decoder: Callable[[bytes], T], response: Response) -> T:
    try:
        return decoder(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ResponseDecodeError(
            f"Zoho's response could not be read: {exc}", status=response.status, body_prefix=response.content
        ) from None
