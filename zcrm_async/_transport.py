"""The seam between the client and the network: a tiny ``Transport`` protocol and its aiohttp implementation.

This is the only module that imports aiohttp's client. Unit tests use ``zcrm_async.testing.MockTransport``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from ._config import Timeouts
from ._errors import RequestTimeout, TransportError

__all__ = ["AiohttpTransport", "Request", "Response", "Transport"]

logger = logging.getLogger("zcrm_async")


class Request:
    """An HTTP request, already encoded. ``headers`` may hold the token: never log or repr them."""

    __slots__ = ("content", "headers", "method", "params", "url")

    def __init__(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.params = params
        self.headers: Mapping[str, str] = headers or {}
        self.content = content

    def __repr__(self) -> str:
        # Only method and URL: headers carry the access token and bodies of the token endpoint carry secrets.
        return f"<Request {self.method} {self.url}>"


class Response:
    """An HTTP response, fully read."""

    __slots__ = ("attempts", "content", "headers", "replayed", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        #: Header names as the server sent them; look them up with ``header()``.
        self.headers = headers
        self.content = content
        #: Tries the client made to get this response (set by the client's retry layer).
        self.attempts = 1
        #: True when an earlier try may have reached the server and been applied there (it got no response, or
        #: a 5xx): a write answered "already done" may then be our own earlier try.
        self.replayed = False

    def header(self, name: str) -> str | None:
        """A header's value, case-insensitively."""
        value = self.headers.get(name)
        if value is not None or isinstance(self.headers, CIMultiDictProxy | CIMultiDict):
            return value  # aiohttp's headers already match case-insensitively: a miss is a miss
        lowered = name.lower()
        for key, candidate in self.headers.items():
            if key.lower() == lowered:
                return candidate
        return None

    def __repr__(self) -> str:
        return f"<Response [{self.status}] {len(self.content)} bytes>"


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns its response; raises ``TransportError`` when there is none."""

    async def send(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """A ``Transport`` over one ``aiohttp.ClientSession``.

    Args:
        session: a session of the caller's; it is never closed here. Without one, the transport makes its own
            on first use and closes it in ``aclose()``.
        timeouts: per-request timeouts.
        limit: the connection pool's size; the budget caps calls in flight, so this only needs to be as large.
    """

    __slots__ = ("_limit", "_owns_session", "_session", "_timeout")

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts = Timeouts(),
        limit: int = 100,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeouts.total, connect=timeouts.connect)
        self._limit = limit

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Cookies are useless to an API client and the jar costs CPU on every response.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
            )
        elif self._session.closed:
            raise RuntimeError("the transport's aiohttp session is closed")
        return self._session

    async def send(self, request: Request) -> Response:
        session = self._get_session()
        try:
            async with session.request(
                request.method,
                request.url,
                params=request.params,
                headers=request.headers,
                data=request.content,
                timeout=self._timeout,
            ) as resp:
                content = await resp.read()
                return Response(resp.status, resp.headers, content)
        except TimeoutError as exc:
            raise RequestTimeout(f"{request.method} {request.url} timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"{request.method} {request.url} failed: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()
