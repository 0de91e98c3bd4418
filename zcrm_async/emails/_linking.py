"""Link Deal to Emails and Unlink Deal from Emails (v8): bulk and single-email writes, read back when in doubt."""

from __future__ import annotations

from collections.abc import Iterable

from .._bulk import BulkResult, ItemResult
from .._write_results import results_from_response
from ._items import (
    MAX_LINK_ITEMS,
    MAX_UNLINK_CHARS,
    MAX_UNLINK_IDS,
    DealLink,
    DealUnlink,
    ProgressCallback,
    check_chunk_size,
    message_id_of,
    unlink_chunks,
    validated,
)
from ._read_back import ALREADY_LINKED, LINK_UNVERIFIED, ReadBack, is_linked_as_intended, is_unlinked
from ._requests import (
    PlannedRequest,
    check_unlink_limits,
    link_chunks,
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
        links = validated(items, DealLink)
        check_chunk_size(chunk_size, MAX_LINK_ITEMS)
        chunks = link_chunks(links, chunk_size)
        module_id = deals_module_id or await self._crm.modules.id_of("Deals")

        async def send(part: list[DealLink]) -> list[ItemResult[DealLink]]:
            results = await self._send_links(part, module_id)
            if already_linked_ok:
                results = await self._read_back(
                    results, is_linked_as_intended, why="already linked to this deal", codes=ALREADY_LINKED,
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
        items: Iterable[DealUnlink],
        *,
        max_ids: int = MAX_UNLINK_IDS,
        max_chars: int = MAX_UNLINK_CHARS,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[DealUnlink]:
        """Unlink any number of emails from their deals (Unlink Deal from Emails, v8).

        Items are grouped by contact and owner; each request's ``message_ids`` holds at most ``max_ids`` ids and
        ``max_chars`` characters, split on whole ids. An email that was not linked ends as asked: it is reported
        ``NOT_LINKED`` with status success (Zoho answers a bare INVALID_DATA, so the contact's list is read back to
        tell it from an unknown email, which stays INVALID_DATA).
        """
        unlinks = validated(items, DealUnlink)
        check_unlink_limits(max_ids, max_chars)
        chunks = unlink_chunks(unlinks, max_ids, max_chars)
        return await self._run(chunks, self._send_unlinks, len(unlinks), concurrency, on_progress)

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
