"""A hostile server for tests: a small aiohttp.web app on 127.0.0.1 that answers whatever a test scripts.

Each test sets ``server.handler`` (an aiohttp handler) and reads ``server.received`` (every request, with its
headers and body) afterwards. ``HostileServer.pair()`` gives two on different ports, so a redirect from one to the
other crosses origins.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def _nothing(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404)


class HostileServer:
    """A web app on 127.0.0.1 answering every path with ``handler``, recording every request."""

    def __init__(self) -> None:
        self.handler: Handler = _nothing
        self.received: list[Received] = []
        self.url = ""

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), body))
        return await self.handler(request)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[HostileServer]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()


@asynccontextmanager
async def hostile_pair() -> AsyncIterator[tuple[HostileServer, HostileServer]]:
    """Two hostile servers on two ports (two origins)."""
    async with HostileServer().running() as first, HostileServer().running() as second:
        yield first, second


def token_answer(**fields: object) -> web.Response:
    """A token endpoint's answer: a valid-looking token, with ``fields`` replaced or added."""
    body: dict[str, object] = {"access_token": "1000.hostile", "expires_in": 3600, "token_type": "Bearer"}
    body.update(fields)
    return web.json_response(body)
