"""The one runner of bulk writes: any ``BulkOp`` as a list (``BulkResult``, input order) or a stream.

Both forms run the same workers (``_streaming``): ``concurrency`` requests at a time (the budget's by default),
each taking the next part from the op's window. The list form checks the whole input first (bad input sends
nothing); the stream checks each item as it is read and holds only the window. ``send`` is the pipeline every
op's requests go through: one ``ZohoCRM.request`` per planned request.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from ._bulk import BulkResult, ItemResult
from ._client import Target
from ._ops import BulkOp, PlannedRequest
from ._streaming import DEFAULT_WINDOW, BulkStream, materialize, run_all, stream_chunks
from ._transport import Response

if TYPE_CHECKING:
    from ._client import ZohoCRM

__all__ = ["BulkRunner", "ProgressCallback"]

T = TypeVar("T")

#: A write the pipeline must not resend after no answer or a 5xx; a 429 is still retried (Zoho applied nothing).
_NO_BLIND_RESEND = Target(resend_unanswered=False)

ProgressCallback = Callable[[Sequence[ItemResult[Any]]], None]


class BulkRunner:
    """Runs bulk ops through one client."""

    __slots__ = ("_crm",)

    def __init__(self, crm: ZohoCRM) -> None:
        self._crm = crm

    async def run(
        self,
        op: BulkOp[T],
        items: Iterable[T] | AsyncIterable[T],
        *,
        concurrency: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> BulkResult[T]:
        """Every item's result, in input order; the whole input is checked (``op.check_all``) before any request."""
        checked = op.check_all(await materialize(items))
        workers = concurrency or self._crm.budget.concurrency
        return await run_all(checked, op.write, op.window(None), concurrency=workers, on_progress=on_progress)

    def stream(
        self,
        op: BulkOp[T],
        items: Iterable[T] | AsyncIterable[T],
        *,
        concurrency: int | None = None,
        window: int = DEFAULT_WINDOW,
    ) -> AbstractAsyncContextManager[BulkStream[T]]:
        """``(index, result)`` as each request completes, holding ``window`` items being grouped."""
        workers = concurrency or self._crm.budget.concurrency
        return stream_chunks(
            items, op.write, op.window(window), concurrency=workers, check=op.check, pending_key=op.pending_key
        )

    async def send(self, planned: PlannedRequest[Any]) -> Response:
        """The response to a planned request (``TransportError`` when none came after every retry)."""
        return await self._crm.request(
            planned.method, planned.path, operation=planned.operation, params=planned.params,
            content=planned.body, headers=planned.headers, units=planned.units,
            target=None if planned.resend_unanswered else _NO_BLIND_RESEND,
        )  # fmt: skip
