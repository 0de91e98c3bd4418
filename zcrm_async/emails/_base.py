"""What every part of ``crm.emails`` shares: the client, and how a bulk method runs its requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import msgspec

from .._bulk import BulkResult, Chunk, ItemResult, run_chunks
from .._errors import ResponseDecodeError, TransportError
from .._transport import Response
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

    async def _run(
        self,
        chunks: list[Chunk[T]],
        send: Callable[[list[T]], Awaitable[list[ItemResult[T]]]],
        total: int,
        concurrency: int | None,
        on_progress: ProgressCallback | None,
    ) -> BulkResult[T]:
        workers = concurrency or self._crm.budget.concurrency
        return await run_chunks(chunks, send, total, concurrency=workers, on_chunk_done=on_progress)

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
