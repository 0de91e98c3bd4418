"""Link Deal to Emails and Unlink Deal from Emails (v8): bulk and single-email writes, read back when in doubt."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from contextlib import AbstractAsyncContextManager

from .._bulk import BulkResult, ItemResult
from .._streaming import DEFAULT_WINDOW, BulkStream, Sender, materialize
from .._write_results import results_from_response
from ..validation import InvalidItemError
from ._items import (
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    ProgressCallback,
    check_chunk_size,
    check_link,
    check_unlink,
    email_key,
    link_window,
    message_id_of,
    unlink_window,
    validated,
)
from ._read_back import ALREADY_LINKED, LINK_UNVERIFIED, ReadBack, is_linked_as_intended, is_unlinked
from ._requests import (
    PlannedRequest,
    check_unlink_limits,
    link_request,
    plan_link_deal,
    plan_unlink_deal,
    single_link_request,
    unlink_request,
)

__all__ = ["Linking"]


class Linking(ReadBack):
    """The link and unlink methods of ``crm.emails``."""

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
        links = validated(await materialize(items), DealLink)
        check_chunk_size(chunk_size, MAX_LINK_ITEMS)
        module_id = deals_module_id or await self._crm.modules.id_of("Deals")
        send = self._link_sender(module_id, already_linked_ok)
        return await self._collect(links, send, link_window(chunk_size, None), concurrency, on_progress)

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
        id is learned before the first request) stops the stream and is raised from the ``async with``.
        """
        check_chunk_size(chunk_size, MAX_LINK_ITEMS)
        send = self._link_sender(deals_module_id, already_linked_ok)
        return self._stream(
            items, send, link_window(chunk_size, window), concurrency, check=check_link, pending_key=email_key
        )

    def _link_sender(self, module_id: str | None, already_linked_ok: bool) -> Sender[DealLink]:
        """Sends one contact's links; learns the Deals module's id at the first request if not given."""
        known = module_id

        async def send(part: list[DealLink]) -> list[ItemResult[DealLink]]:
            nonlocal known
            if known is None:
                known = await self._crm.modules.id_of("Deals")  # single-flight: one lookup however many workers
            results = await self._send_links(part, known)
            if already_linked_ok:
                results = await self._read_back(
                    results, is_linked_as_intended, why="already linked to this deal", codes=ALREADY_LINKED,
                    unread=LINK_UNVERIFIED,
                )  # fmt: skip
            return results

        return send

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
        response = await self._send(single_link_request(item, module_id))
        if isinstance(response, list):
            return response[0]
        results = results_from_response([item], response)
        results = await self._read_back_in_doubt(results, response, is_linked_as_intended)
        return results[0]

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
        check_unlink_limits(max_ids, max_chars)
        unlinks = validated(await materialize(items), DealUnlink)
        for index, item in enumerate(unlinks):
            _check_fits(item, max_chars, index)
        window = unlink_window(max_ids, max_chars, None)
        return await self._collect(unlinks, self._send_unlinks, window, concurrency, on_progress)

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
        check_unlink_limits(max_ids, max_chars)

        def check(index: int, item: DealUnlink) -> DealUnlink:
            return _check_fits(check_unlink(index, item), max_chars, index)

        window_ = unlink_window(max_ids, max_chars, window)
        return self._stream(items, self._send_unlinks, window_, concurrency, check=check, pending_key=email_key)

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

    async def _send_links(self, part: list[DealLink], module_id: str) -> list[ItemResult[DealLink]]:
        response = await self._send(link_request(part, module_id))
        if isinstance(response, list):
            return response
        results = results_from_response(part, response, key=message_id_of)
        results = await self._read_back_in_doubt(results, response, is_linked_as_intended)
        return results

    async def _send_unlinks(self, part: list[DealUnlink]) -> list[ItemResult[DealUnlink]]:
        response = await self._send(unlink_request(part))
        if isinstance(response, list):
            return response
        results = results_from_response(part, response, key=message_id_of)
        results = await self._read_back_in_doubt(results, response, is_unlinked)
        return await self._not_linked(results)


def _check_fits(item: DealUnlink, max_chars: int, index: int) -> DealUnlink:
    if len(item.message_id) > max_chars:
        raise InvalidItemError(index, "message_id", f"alone is longer than max_chars ({max_chars})")
    return item
