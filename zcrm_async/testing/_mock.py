"""``MockTransport``: answer the client's requests with a function, for unit tests without a server."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

from .._transport import Request, Response

__all__ = ["MockTransport", "json_response"]

Handler = Callable[[Request], Response | Awaitable[Response]]


def json_response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
    """A response whose body is ``body`` encoded as JSON (empty for None)."""
    content = b"" if body is None else msgspec.json.encode(body)
    return Response(status, dict(headers or {}), content)


class MockTransport:
    """A ``Transport`` that calls ``handler(request)`` (sync or async) instead of the network.

    Every request is kept in ``requests``, in order, for assertions; ``keep_requests=False`` keeps none, for runs
    whose memory is what is being measured.
    """

    def __init__(self, handler: Handler, *, keep_requests: bool = True) -> None:
        self._handler = handler
        self._keep = keep_requests
        self.requests: list[Request] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        if self._keep:
            self.requests.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def aclose(self) -> None:
        self.closed = True
