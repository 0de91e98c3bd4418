"""Zoho Accounts in FakeZoho: the token endpoint, its limits, and the gate that checks access tokens."""

from __future__ import annotations

import collections
import random
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_config import FakeConfig
from ._fake_wire import BAD_TOKEN, NO_AUTH, json_response

if TYPE_CHECKING:
    from ._fake_app import FakeApp

#: Zoho's "Token Validity" page: at most token_refresh_limit access tokens per refresh token per 10 minutes.
_REFRESH_WINDOW = 600.0
_ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


class Tokens:
    """Zoho Accounts' refresh flow with its two limits (Zoho's "Token Validity" page)."""

    __slots__ = ("_active", "_by_refresh", "_config", "_rng", "_windows", "valid_refresh_tokens")

    def __init__(self, config: FakeConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        self._active: dict[str, float] = {}  # access token -> expiry (config.clock time)
        self._by_refresh: dict[str, collections.deque[str]] = {}
        self._windows: dict[str, collections.deque[float]] = {}
        self.valid_refresh_tokens = {config.refresh_token}

    def refresh(self, params: dict[str, str]) -> dict[str, Any] | None:
        """An error body, or None when the caller may issue a token."""
        cfg = self._config
        if params.get("grant_type") != "refresh_token":
            code = "invalid_code" if params.get("grant_type") == "authorization_code" else "unsupported_grant_type"
            return {"error": code}
        if params.get("client_id") != cfg.client_id or params.get("client_secret") != cfg.client_secret:
            return {"error": "invalid_client"}
        if params.get("refresh_token") not in self.valid_refresh_tokens:
            return {"error": "invalid_code"}
        window = self._windows.setdefault(params["refresh_token"], collections.deque())
        now = cfg.clock()
        while window and window[0] <= now - _REFRESH_WINDOW:
            window.popleft()
        if len(window) >= cfg.token_refresh_limit:
            return _ACCESS_DENIED
        window.append(now)
        return None

    def issue(self, refresh_token: str) -> str:
        token = f"1000.{self._rng.getrandbits(128):032x}.{self._rng.getrandbits(128):032x}"
        self._active[token] = self._config.clock() + self._config.token_ttl
        issued = self._by_refresh.setdefault(refresh_token, collections.deque())
        issued.append(token)
        # "Token Validity": 15 active access tokens per refresh token; the 16th invalidates the oldest.
        while len(issued) > self._config.max_active_tokens:
            self._active.pop(issued.popleft(), None)
        return token

    def valid(self, token: str) -> bool:
        expiry = self._active.get(token)
        if expiry is None:
            return False
        if expiry <= self._config.clock():
            del self._active[token]
            return False
        return True

    def expire_all(self) -> None:
        self._active.clear()
        for issued in self._by_refresh.values():
            issued.clear()

    def revoke(self, refresh_token: str) -> None:
        self.valid_refresh_tokens.discard(refresh_token)
        for token in self._by_refresh.pop(refresh_token, ()):
            self._active.pop(token, None)


def auth_refusal(tokens: Tokens, request: web.Request) -> web.Response | None:
    """The 401 for an API request without a live access token, or None to let it through."""
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Zoho-oauthtoken "):
        return json_response(NO_AUTH, 401)
    if not tokens.valid(auth[16:].strip()):
        return json_response(BAD_TOKEN, 401)
    return None


async def token(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """POST /oauth/v2/token: refresh_token grant, params in the form body or the query string."""
    fake.stats.token_refreshes += 1
    params = dict(request.query)
    if request.body_exists:  # read already, by the gates: can_read_body is False by now
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    refused = fake.tokens.refresh(params)
    if refused is not None:
        return json_response(refused)
    fake.stats.tokens_issued += 1
    return json_response(
        {
            "access_token": fake.tokens.issue(params["refresh_token"]),
            "api_domain": f"{request.scheme}://{request.host}",
            "token_type": "Bearer",
            "expires_in": int(fake.config.token_ttl),
        }
    )
