"""Zoho Accounts in FakeZoho: the token endpoint, its limits, and the gate that checks access tokens.

Two grants, as Zoho documents them: ``refresh_token`` (a new access token; 10 per refresh token per 10 minutes)
and ``authorization_code`` (a Self Client's grant code, used once within its minutes, 3 by default, gives a new
refresh token and a first access token). Token answers name their ``scope`` only when ``FakeConfig.scope`` is
set: Zoho's token pages document answers without it, though some of its answers carry it.

A body the endpoint cannot read as a form (not UTF-8, a multipart body without its boundary) is answered 400
``{"error": "invalid_request"}``: Zoho's pages document the token endpoint's errors only as ``{"error": CODE}``
and none for an unreadable body, so the fake takes OAuth 2.0's code for a malformed request (RFC 6749, 5.2).
"""

from __future__ import annotations

import collections
import random
import secrets
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
UNREADABLE_FORM = {"error": "invalid_request", "error_description": "the request body is not a readable form"}


class Tokens:
    """Zoho Accounts' refresh flow with its two limits (Zoho's "Token Validity" page)."""

    __slots__ = ("_active", "_by_refresh", "_config", "_grants", "_rng", "_windows", "scopes", "valid_refresh_tokens")

    def __init__(self, config: FakeConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        self._active: dict[str, float] = {}  # access token -> expiry (config.clock time)
        self._by_refresh: dict[str, collections.deque[str]] = {}
        self._windows: dict[str, collections.deque[float]] = {}
        self.valid_refresh_tokens = {config.refresh_token}
        #: The scopes each refresh token carries.
        self.scopes = {config.refresh_token: config.scope or ""}
        self._grants: dict[str, tuple[str, float]] = {}  # grant code -> (scope, expiry in config.clock time)

    def grant_code(self, scope: str, minutes: float = 3.0) -> str:
        """A Self Client's "Generate Code": usable once, within ``minutes``."""
        # Not from the seeded generator: generating codes must not shift a seeded run's faults and tokens.
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self._grants[code] = (scope, self._config.clock() + minutes * 60)
        return code

    def exchange(self, params: dict[str, str]) -> dict[str, Any] | str:
        """An error body, or the new refresh token the grant code gives (the code is spent either way)."""
        cfg = self._config
        if params.get("client_id") != cfg.client_id or params.get("client_secret") != cfg.client_secret:
            return {"error": "invalid_client"}
        grant = self._grants.pop(params.get("code", ""), None)
        if grant is None or grant[1] <= cfg.clock():
            return {"error": "invalid_code"}
        refresh_token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.valid_refresh_tokens.add(refresh_token)
        self.scopes[refresh_token] = grant[0]
        return refresh_token

    def refresh(self, params: dict[str, str]) -> dict[str, Any] | None:
        """An error body, or None when the caller may issue a token."""
        cfg = self._config
        if params.get("grant_type") != "refresh_token":
            return {"error": "unsupported_grant_type"}
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
    """POST /oauth/v2/token: the refresh_token and authorization_code grants, params in the form or the query."""
    fake.stats.token_refreshes += 1
    params = dict(request.query)
    if request.body_exists:  # read already, by the gates: can_read_body is False by now
        try:
            form = await request.post()
        except (UnicodeDecodeError, ValueError):  # not UTF-8, or a multipart body without (or with a wrong) boundary
            return json_response(UNREADABLE_FORM, 400)
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    extra: dict[str, str] = {}  # only the fields this grant's answer carries
    if params.get("grant_type") == "authorization_code":
        given = fake.tokens.exchange(params)
        if isinstance(given, dict):
            return json_response(given)
        refresh_token = extra["refresh_token"] = given
    else:
        refused = fake.tokens.refresh(params)
        if refused is not None:
            return json_response(refused)
        refresh_token = params["refresh_token"]
    fake.stats.tokens_issued += 1
    return json_response(
        {
            "access_token": fake.tokens.issue(refresh_token),
            **extra,
            **({"scope": fake.tokens.scopes.get(refresh_token, "")} if fake.config.scope is not None else {}),
            "api_domain": f"{request.scheme}://{request.host}",
            "token_type": "Bearer",
            "expires_in": int(fake.config.token_ttl),
        }
    )
