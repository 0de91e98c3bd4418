"""What every part of ``crm.emails`` shares: the client, and how a bulk method runs its requests."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Hashable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, TypeVar

import msgspec

from .._bulk import BulkResult, ItemResult
from .._errors import ResponseDecodeError, TransportError
from .._streaming import BulkStream, Checker, Sender, run_all, stream_chunks
from .._transport import Response
from .._window import Window
from .._write_results import fail_transport
from ._items import ProgressCallback
from ._requests import PlannedRequest

if TYPE_CHECKING:
    from .._client import ZohoCRM

T = TypeVar("T")


class EmailsBase:
    """The client ``crm.emails`` sends through, and the bulk plumbing its write methods share."""

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm

    def _stream(
        self,
        items: Iterable[T] | AsyncIterable[T],
        send: Sender[T],
        window: Window[T],
        concurrency: int | None,
        *,
        check: Checker[T] | None = None,
        pending_key: Callable[[T], Hashable] | None = None,
    ) -> AbstractAsyncContextManager[BulkStream[T]]:
        """A streaming form: each item checked as it is read, its result out as its request completes."""
        workers = concurrency or self._crm.budget.concurrency
        return stream_chunks(items, send, window, concurrency=workers, check=check, pending_key=pending_key)

    async def _collect(
        self,
        items: list[T],
        send: Sender[T],
        window: Window[T],
        concurrency: int | None,
        on_progress: ProgressCallback | None,
    ) -> BulkResult[T]:
        """A list form: ``items`` already checked as a whole, sent by the same workers, results in input order."""
        workers = concurrency or self._crm.budget.concurrency
        return await run_all(items, send, window, concurrency=workers, on_progress=on_progress)

    async def _send(self, planned: PlannedRequest[T]) -> Response | list[ItemResult[T]]:
        """The response to a planned request, or its items failed when no response came after all retries."""
        try:
            return await self._crm.request(
                planned.method, planned.path, operation=planned.operation, params=planned.params, content=planned.body
            )
        except TransportError as exc:
            return fail_transport(planned.items, exc)


def decode_response(decoder: Callable[[bytes], T], response: Response) -> T:
    try:
        return decoder(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ResponseDecodeError(
            f"Zoho's response could not be read: {exc}", status=response.status, body_prefix=response.content
        ) from None
