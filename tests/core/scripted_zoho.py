"""A scripted Zoho for the OAuth tests: a token endpoint and an API that count what they were asked, a
clock and a sleep that never wait, and the client and TokenManager built over them."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel

from zcrm_async import OAuthCredentials, Request, Response, RetryPolicy, ZohoCRM

# private on purpose: TokenManager, the refresh flow as a unit
from zcrm_async._auth import TokenManager
from zcrm_async.testing import MockTransport, json_response

CLIENT_ID = "1000.CLIENTIDCLIENTID"
SECRET = "SECRET-abc123"
REFRESH = "1000.REFRESH-xyz789.SECRET"
ACCESS_PREFIX = "1000.ACCESS-SECRET-"
ACCOUNTS = "https://accounts.zoho.com"
TOKEN_URL = f"{ACCOUNTS}/oauth/v2/token"

INVALID_TOKEN = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
THROTTLED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


def credentials() -> OAuthCredentials:
    return OAuthCredentials(client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """An injected sleep: records each wait, advances the clock, never really sleeps."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds


class Zoho:
    """A scripted Zoho: a token endpoint and an API, counting what each was asked."""

    def __init__(self, *, api_domain: str | None = "https://www.zohoapis.eu", slow: bool = False) -> None:
        self.api_domain = api_domain
        self.slow = slow
        self.token_calls = 0
        self.token_replies: list[tuple[int, Any]] = []  # consumed first; then tokens are issued
        self.api_calls: list[Request] = []
        self.api_reply: Callable[[Request], Response | Awaitable[Response]] = lambda request: json_response(
            200, {"ok": True}
        )

    @property
    def last_token(self) -> str:
        return f"{ACCESS_PREFIX}{self.token_calls}"

    async def __call__(self, request: Request) -> Response:
        if request.url == TOKEN_URL:
            self.token_calls += 1
            if self.slow:
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()  # let every other caller pile up behind the refresh
            if self.token_replies:
                status, body = self.token_replies.pop(0)
                return json_response(status, body)
            reply: dict[str, Any] = {"access_token": self.last_token, "token_type": "Bearer", "expires_in": 3600}
            if self.api_domain:
                reply["api_domain"] = self.api_domain
            return json_response(200, reply)
        self.api_calls.append(request)
        reply = self.api_reply(request)
        return await reply if inspect.isawaitable(reply) else reply


def client(zoho: Zoho, **kwargs: Any) -> tuple[ZohoCRM, MockTransport]:
    transport = MockTransport(zoho)
    kwargs.setdefault("retry", RetryPolicy.no_wait())
    kwargs.setdefault("sleep", Sleeps())
    crm = ZohoCRM(client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH, transport=transport, **kwargs)
    return crm, transport


def manager(zoho: Zoho, **kwargs: Any) -> tuple[TokenManager, MockTransport]:
    transport = MockTransport(zoho)
    kwargs.setdefault("sleep", Sleeps())  # never wait for real, even where no wait is expected
    return TokenManager(credentials(), accounts_url=ACCOUNTS, transport=transport, **kwargs), transport
