"""Associate Email with a Record: log emails that are not in CRM yet onto a record."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Iterable
from contextlib import AbstractAsyncContextManager

from .._bulk import BulkResult, ItemResult
from .._streaming import BulkStream, Sender, materialize
from .._window import Window
from .._write_results import SUCCESS, results_from_response
from ..models import AssociateEmail, encode_associate_body
from ..validation import check_not_empty, check_numeric_id
from ._base import EmailsBase
from ._items import ASSOCIATE_CHUNK, MAX_ASSOCIATE_ITEMS, ProgressCallback, check_chunk_size
from ._requests import PlannedRequest

__all__ = ["Associating"]


class Associating(EmailsBase):
    """The associate methods of ``crm.emails``."""

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
        send = self._associate_sender(module, record_id, chunk_size)
        items = await materialize(emails)
        check_not_empty(items, "emails")
        for index, email in enumerate(items):
            _check_email(index, email)
        return await self._collect(items, send, _in_order(chunk_size), concurrency, on_progress)

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
        send = self._associate_sender(module, record_id, chunk_size)
        return self._stream(emails, send, _in_order(chunk_size), concurrency, check=_check_email)

    def _associate_sender(self, module: str, record_id: str | int, chunk_size: int) -> Sender[AssociateEmail]:
        record = check_numeric_id(record_id, "record_id")
        check_chunk_size(chunk_size, MAX_ASSOCIATE_ITEMS)
        path = f"/{module}/{record}/actions/associate_email"

        async def send(part: list[AssociateEmail]) -> list[ItemResult[AssociateEmail]]:
            planned = PlannedRequest("POST", path, "emails.associate", part, body=encode_associate_body(part))
            response = await self._send(planned)
            if isinstance(response, list):
                return response
            results = results_from_response(part, response)
            if response.replayed:
                results = [_duplicate_as_success(result) for result in results]
            return results

        return send


def _check_email(index: int, email: AssociateEmail) -> AssociateEmail:
    if not isinstance(email, AssociateEmail):
        raise TypeError(f"item {index}: expected AssociateEmail, got {type(email).__name__}")
    if not email.original_message_id:
        raise ValueError(f"item {index}: original_message_id is missing")
    return email


def _in_order(chunk_size: int) -> Window[AssociateEmail]:
    """Requests of ``chunk_size`` consecutive emails: one record takes them all, so nothing waits to be grouped."""
    return Window(_one_group, chunk_size, chunk_size)


def _one_group(_: AssociateEmail) -> None:
    return None


def _duplicate_as_success(result: ItemResult[AssociateEmail]) -> ItemResult[AssociateEmail]:
    if result.code != "DUPLICATE_DATA":
        return result
    return dataclasses.replace(result, code=SUCCESS, status="success", message="associated by an earlier try")
