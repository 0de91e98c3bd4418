"""A bulk write as a value: what one request carries, how items are grouped into it, and how its answer is read.

Every bulk write (link, unlink, relink, associate, related-records update, and whatever comes next) is one
``BulkOp``: the runner (``_runner.BulkRunner``) runs any of them as a list (``BulkResult``) or a stream, so
windowed memory, cancellation and the minimum number of requests are written once. An op declares:

- ``window(capacity)``: how items are grouped into requests (``_window.Window``; ``None`` holds the whole list);
- ``check(index, item)``: one item as a stream reads it (raise ``ValueError``/``TypeError`` to refuse it alone);
  ``check_all(items)``: the whole list at once, before any request (the list forms refuse bad input whole);
- ``pending_key``: what must not be in flight twice at once (an email), or None;
- ``write(part)``: one request's items to one ``ItemResult`` each, in order; never raises for Zoho's refusals.

Most writes are one request per part and ``RequestOp`` declares them: the request builder, how the answer's
per-item statuses are matched to the items sent (``match``: the id Zoho echoes, else ``json_path``, else order),
the read-back verifier for answers in doubt (``verify``, and ``unanswered`` for a request that got no answer at
all), and how outcomes are classified (``classify``). An op
whose part takes several requests (relink) implements ``write`` itself by composing ``RequestOp`` s.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from ._bulk import ItemResult
from ._errors import TransportError
from ._transport import Response
from ._window import Window
from ._write_results import fail_transport, results_from_response

__all__ = [
    "API_VERSION",
    "BulkOp",
    "Pipeline",
    "PlannedRequest",
    "Reader",
    "RequestOp",
    "Settle",
    "SettleUnanswered",
    "write_in_order",
]

T = TypeVar("T")

#: The CRM API version the bulk writes are written against (``ZohoCRM``'s default).
API_VERSION = "v8"


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedRequest(Generic[T]):
    """One request a bulk method sends, and the input items it carries.

    Attributes:
        method: the HTTP method.
        path: the path below the API root, as ``ZohoCRM.request`` takes it (``/Contacts/1/Emails/...``).
        operation: its name in the budget's cost table (``emails.link``).
        items: the input items the request carries, in the order it carries them.
        params: the query parameters, if any.
        body: the JSON body, if any.
        api_version: the CRM API version in the URL.
        headers: extra request headers (``X-EXTERNAL``), if any.
        units: how many of the operation's priced units it carries (a record write: 1 per 10 records).
        resend_unanswered: False for a write the pipeline must not resend after no answer or a 5xx (an insert:
            the op reads back what it cannot tell was applied).
    """

    method: str
    path: str
    operation: str
    items: Sequence[T]
    params: Mapping[str, str] | None = None
    body: bytes | None = None
    api_version: str = API_VERSION
    headers: Mapping[str, str] | None = None
    units: int = 1
    resend_unanswered: bool = True

    @property
    def target(self) -> str:
        """The request line's target: ``/crm/v8/Contacts/1/Emails/actions/link_record`` (with the query, if any)."""
        query = f"?{urllib.parse.urlencode(self.params)}" if self.params else ""
        return f"/crm/{self.api_version}{self.path}{query}"


#: Sends one planned request through the client's pipeline: its response, or ``TransportError`` when none came.
Pipeline = Callable[[PlannedRequest[T]], Awaitable[Response]]
#: A step over one request's results, with its response: reading back what is in doubt, or reclassifying.
Settle = Callable[[list[ItemResult[T]], Response], Awaitable[list[ItemResult[T]]]]
#: A step over the results of a request that got no answer (``TRANSPORT_ERROR``): reading back what it did.
SettleUnanswered = Callable[[list[ItemResult[T]]], Awaitable[list[ItemResult[T]]]]
#: Reads one request's answer into one result per item, in the order sent (``_write_results``, ``_record_answers``).
Reader = Callable[[list[T], Response], list[ItemResult[T]]]


class BulkOp(Protocol[T]):
    """What the runner needs of a bulk write (see the module docstring)."""

    @property
    def pending_key(self) -> Callable[[T], Hashable] | None: ...

    def window(self, capacity: int | None) -> Window[T]: ...

    def check(self, index: int, item: T) -> T: ...

    def check_all(self, items: list[T]) -> list[T]: ...

    async def write(self, part: list[T]) -> list[ItemResult[T]]: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestOp(Generic[T]):
    """A bulk write that sends one request per part, declared by its pieces (see the module docstring).

    Attributes:
        request: builds the part's request (async: it may learn an id first, once per client).
        pipeline: sends it (``BulkRunner.send``).
        grouping: ``window`` (the runner's ``capacity``; ``None``: the whole list).
        checker: ``check``, for one item of a stream.
        validator: ``check_all``, for a whole list.
        match: the id Zoho echoes for an item in its answer (``details.message_id``), or None: json_path, order.
        verify: reads back the items an answer leaves in doubt (a replayed request, an item not accounted for).
        classify: turns Zoho's answers into the op's own outcomes (an unlink of an unlinked email: NOT_LINKED).
        pending_key: what must not be in flight twice at once.
        read: reads the answer into results, for an endpoint whose answer is not the bulk writes' (Insert
            Records' ``data``, matched by ``$.data[i]`` and ``id``); None: ``results_from_response`` by ``match``.
        unanswered: reads back the items of a request that got no answer after the pipeline's retries (an
            insert, a delete); None: they stay ``TRANSPORT_ERROR``.
    """

    request: Callable[[list[T]], Awaitable[PlannedRequest[T]]]
    pipeline: Pipeline[T]
    grouping: Callable[[int | None], Window[T]]
    checker: Callable[[int, T], T]
    validator: Callable[[list[T]], list[T]]
    match: Callable[[T], str | None] | None = None
    verify: Settle[T] | None = None
    classify: Settle[T] | None = None
    pending_key: Callable[[T], Hashable] | None = None
    read: Reader[T] | None = None
    unanswered: SettleUnanswered[T] | None = None

    def window(self, capacity: int | None) -> Window[T]:
        return self.grouping(capacity)

    def check(self, index: int, item: T) -> T:
        return self.checker(index, item)

    def check_all(self, items: list[T]) -> list[T]:
        return self.validator(items)

    async def write(self, part: list[T]) -> list[ItemResult[T]]:
        """Send the part's request and read its answer: one result per item, in order."""
        planned = await self.request(part)
        try:
            response = await self.pipeline(planned)
        except TransportError as exc:
            failures = fail_transport(part, exc)
            return failures if self.unanswered is None else await self.unanswered(failures)
        if self.read is not None:
            results = self.read(part, response)
        else:
            results = results_from_response(part, response, key=self.match)
        if self.verify is not None:
            results = await self.verify(results, response)
        if self.classify is not None:
            results = await self.classify(results, response)
        return results


async def write_in_order(op: BulkOp[T], items: list[T]) -> list[ItemResult[T]]:
    """``items`` written one request after another, grouped as ``op`` groups a whole list; results in input
    order. For a step inside another op's part (relink's unlinks), where the items are already few."""
    window = op.window(None)
    for index, item in enumerate(items):
        window.add(index, item)
    window.flush()
    results: list[ItemResult[T] | None] = [None] * len(items)
    for chunk in window.ready:
        for index, result in zip(chunk.indexes, await op.write(chunk.items), strict=True):
            results[index] = result
    return [result for result in results if result is not None]
