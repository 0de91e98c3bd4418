"""Associate Email with a Record: log emails that are not in CRM yet onto a record."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .._bulk import BulkResult, ItemResult, sequential_chunks
from .._write_results import SUCCESS, results_from_response
from ..models import AssociateEmail, encode_associate_body
from ..validation import check_not_empty, check_numeric_id
from ._base import EmailsBase
from ._items import ASSOCIATE_CHUNK, MAX_ASSOCIATE_ITEMS, ProgressCallback, check_chunk_size
from ._requests import PlannedRequest

__all__ = ["Associating"]


class Associating(EmailsBase):
    """The associate method of ``crm.emails``."""

    async def associate_emails(
        self,
        module: str,
        record_id: str | int,
        emails: Iterable[AssociateEmail],
        *,
        chunk_size: int = ASSOCIATE_CHUNK,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[AssociateEmail]:
        """Log emails that are not in CRM yet onto a record (Associate Email with a Record).

        A ``DUPLICATE_DATA`` result means the ``original_message_id`` is already associated with the record;
        when it answers a retry, the lost first try did it, and it is reported SUCCESS. ``chunk_size`` is 1 by
        default (Zoho's own example refuses a second email in one request); up to 50 where a server takes more.
        """
        record = check_numeric_id(record_id, "record_id")
        items = list(emails)
        check_not_empty(items, "emails")
        for index, email in enumerate(items):
            if not isinstance(email, AssociateEmail):
                raise TypeError(f"item {index}: expected AssociateEmail, got {type(email).__name__}")
            if not email.original_message_id:
                raise ValueError(f"item {index}: original_message_id is missing")
        check_chunk_size(chunk_size, MAX_ASSOCIATE_ITEMS)
        chunks = sequential_chunks(items, chunk_size)
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

        return await self._run(chunks, send, len(items), concurrency, on_progress)


def _duplicate_as_success(result: ItemResult[AssociateEmail]) -> ItemResult[AssociateEmail]:
    if result.code != "DUPLICATE_DATA":
        return result
    return dataclasses.replace(result, code=SUCCESS, status="success", message="associated by an earlier try")
