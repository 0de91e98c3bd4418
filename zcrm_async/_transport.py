"""The seam between the client and the network: a tiny ``Transport`` protocol and its aiohttp implementation.

This is the only module that imports aiohttp's client. Unit tests use ``zcrm_async.testing.MockTransport``.

What the aiohttp transport refuses to do on its own, because each would hide something from the client:

- resend a request: aiohttp quietly sends a GET, PUT or DELETE a second time when a reused connection drops
  after the request went out. The client would never learn its DELETE was sent twice, and the second one's
  "not linked" would read as a failure. The client's retry layer owns every resend (and reads writes back).
- follow a redirect: a 307 keeps the body, so following one would carry the token endpoint's client secret, or
  an API call's token, to whatever server the Location names. A redirect is returned as it is.
- read a body without end: bodies are read up to ``max_response_bytes`` after decompression, then dropped.

A request may carry a ``BodySink`` (a Bulk API's file download): a body the sink accepts is written to it chunk by
chunk, never held in memory; the sink bounds its own size. Transports that know no sinks (``MockTransport``) read
the body as usual, and the sink's owner writes it out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from ._config import Timeouts
from ._errors import RequestTimeout, ResponseTooLarge, TransportError

__all__ = ["AiohttpTransport", "BodySink", "Request", "Response", "Transport"]

logger = logging.getLogger("zcrm_async")

#: 64 MiB: far above any Zoho answer (a page of 200 records of 50 fields, an email with its body).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Methods aiohttp resends by itself when it may (its ``IDEMPOTENT_METHODS`` that a client writes with).
_RESENT_WRITES = frozenset({"PUT", "DELETE"})
#: Bytes read at a time from a body streamed to a sink.
_SINK_CHUNK = 256 * 1024


class BodySink(Protocol):
    """Where a large body goes instead of memory. Each try of the request asks it again (a retry starts over)."""

    def accept(self, status: int, headers: Mapping[str, str]) -> bool:
        """True to have this answer's body written here (``Response.content`` is then empty); False to read it
        into memory as usual (an error answer)."""

    def write(self, chunk: bytes) -> None:
        """Keep the next piece of the body; raise ``ResponseTooLarge`` past the sink's own cap."""


class Request:
    """An HTTP request, already encoded. ``headers`` may hold the token: never log or repr them."""

    __slots__ = ("content", "headers", "method", "params", "sink", "url")

    def __init__(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        sink: BodySink | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.params = params
        self.headers: Mapping[str, str] = headers or {}
        self.content = content
        #: Where an accepted body is streamed instead of memory (see ``BodySink``).
        self.sink = sink

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
        max_response_bytes: the largest body read (after decompression); past it ``ResponseTooLarge``.

    A session passed in has aiohttp's silent resend of PUT and DELETE turned off (see the module's docstring).
    """

    __slots__ = ("_hidden_resends", "_limit", "_max_body", "_owns_session", "_session", "_timeout")

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts = Timeouts(),
        limit: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if max_response_bytes < 1:
            raise ValueError("max_response_bytes must be positive")
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeouts.total, connect=timeouts.connect)
        self._limit = limit
        self._max_body = max_response_bytes
        self._hidden_resends = session is not None and not _turn_off_hidden_resends(session)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Cookies are useless to an API client and the jar costs CPU on every response.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self._timeout,
            )
            self._hidden_resends = not _turn_off_hidden_resends(self._session)
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
                allow_redirects=False,
            ) as resp:
                sink = request.sink
                if sink is not None and sink.accept(resp.status, resp.headers):
                    async for part in resp.content.iter_chunked(_SINK_CHUNK):
                        sink.write(part)
                    content = b""
                else:
                    content = await self._read(resp, request)
                response = Response(resp.status, resp.headers, content)
                if self._hidden_resends and request.method in _RESENT_WRITES:
                    # aiohttp may have sent it twice without saying so: treat the answer as a replay's.
                    response.replayed = True
                return response
        except TimeoutError as exc:
            raise RequestTimeout(f"{request.method} {request.url} timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(f"{request.method} {request.url} failed: {type(exc).__name__}: {exc}") from exc

    async def _read(self, resp: aiohttp.ClientResponse, request: Request) -> bytes:
        """The body, decompressed, refused past the cap: without one, a hostile or broken server's endless or
        inflating body would take all the memory there is."""
        cap = self._max_body
        length = resp.content_length
        if length is not None and length > cap:
            raise _too_large(request, cap)
        if length is not None and not resp.headers.get("Content-Encoding"):
            return await resp.read()  # exactly the declared bytes: the common case, in one call
        parts: list[bytes] = []
        size = 0
        async for part in resp.content.iter_any():
            size += len(part)
            if size > cap:
                raise _too_large(request, cap)
            parts.append(part)
        return b"".join(parts)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()


def _turn_off_hidden_resends(session: aiohttp.ClientSession) -> bool:
    """Stop aiohttp resending GET, PUT and DELETE by itself on a dropped connection; False if this aiohttp has no
    such switch (it is private: ``tests`` check it exists), in which case PUT and DELETE answers count as
    replays, so a write answered "already done" is read back."""
    if not hasattr(session, "_retry_connection"):
        logger.warning("this aiohttp cannot be told not to resend requests; PUT and DELETE answers are read back")
        return False
    session._retry_connection = False
    return True


def _too_large(request: Request, cap: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"{request.method} {request.url}: the response is larger than {cap:,} bytes")
