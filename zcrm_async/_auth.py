"""OAuth 2.0 for Zoho: the refresh-token grant, a token cache, and one refresh at a time.

- Tokens are cached with their expiry and refreshed shortly before it (Zoho's "Token Validity" page: they live 1 h).
- Refresh is single-flight: however many requests find the token stale, one call goes to the token endpoint;
  with a shared ``TokenStore`` (Redis) its lock makes that one call per org, not per process.
- Zoho allows 10 access tokens per refresh token per 10 minutes: this client never asks for more, and a refresh
  answered "Access Denied ... too many requests" waits and tries again instead of failing every request.
- The token endpoint's errors come as JSON with HTTP 200 as often as 400: the body decides, not the status.
- The answer is not trusted blindly: a redirect is never followed (a 307 would carry the secret along), an
  ``api_domain`` is kept only on Zoho's API domains (``_origins.py``), a lifetime is clamped to Zoho's documented
  hour, and a token that could not be sent in a header (control characters) is refused.

Every token is stamped with the client it was issued to (a hash of the accounts server, client id and refresh
token), and a stored token stamped for another client is never used: two clients sharing a store or a file can
never send one org's work with the other's token.

No token or secret is ever logged, repr'd or put in an exception.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import math
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

import anyio
import msgspec

from ._errors import AuthenticationError, ServerError, TransportError
from ._events import Event
from ._origins import is_local_origin, is_zoho_api_domain
from ._retry import RetryPolicy
from ._transport import Request, Transport

__all__ = [
    "AccessToken",
    "MemoryTokenStore",
    "OAuthCredentials",
    "TokenManager",
    "TokenStore",
    "client_fingerprint",
]

logger = logging.getLogger("zcrm_async")

#: Zoho's documented throttle on the token endpoint ("Token Validity": 10 access tokens per refresh token per
#: 10 minutes).
REFRESHES_PER_WINDOW = 10
REFRESH_WINDOW = 600.0


class OAuthCredentials:
    """A self-client's or server app's client id, client secret and refresh token. Never printed."""

    __slots__ = ("client_id", "client_secret", "refresh_token")

    def __init__(self, *, client_id: str, client_secret: str, refresh_token: str) -> None:
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh_token),
        ):
            if not value:
                raise ValueError(f"OAuth {name} is empty")
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token

    def __repr__(self) -> str:
        return f"OAuthCredentials(client_id={_redact(self.client_id)}, client_secret=***, refresh_token=***)"


def client_fingerprint(accounts_url: str, client_id: str, refresh_token: str) -> str:
    """Whose tokens these are: a SHA-256 of the accounts server, client id and refresh token (never the token)."""
    material = "\0".join((accounts_url.rstrip("/").lower(), client_id, refresh_token))
    return hashlib.sha256(material.encode()).hexdigest()


class AccessToken(msgspec.Struct, frozen=True, kw_only=True):
    """An access token with its wall-clock expiry (epoch seconds) and the API domain Zoho gave with it.

    ``client`` is the ``client_fingerprint`` of the client it was issued to; a store's token for another client
    (or an unstamped one) is not used.
    """

    value: str = msgspec.field(name="access_token")
    expires_at: float
    api_domain: str | None = None
    lifetime: float = 3600.0
    client: str | None = None
    #: The scopes Zoho said the token carries, when it said (space separated in Zoho's answers).
    scope: str | None = None

    def __repr__(self) -> str:
        return f"AccessToken(value=***, expires_at={self.expires_at:.0f}, api_domain={self.api_domain!r})"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec gives every Struct a __rich_repr__ listing its fields: rich would print the token's value.
        return [("value", "***"), ("expires_at", self.expires_at), ("api_domain", self.api_domain)]

    def is_fresh(self, now: float) -> bool:
        """Usable for a while yet: refresh a minute (or a tenth of its life, if shorter) before it expires."""
        margin = min(60.0, self.lifetime / 10)
        return now < self.expires_at - margin


def _redact(value: str) -> str:
    return f"{value[:6]}***" if len(value) > 12 else "***"


@runtime_checkable
class TokenStore(Protocol):
    """Where the current access token lives between requests, processes, or runs."""

    async def load(self) -> AccessToken | None: ...

    async def save(self, token: AccessToken) -> None: ...

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        """Held around a refresh: a shared store's lock makes one process refresh for all of them."""
        ...


@runtime_checkable
class SharedRefreshBudget(Protocol):
    """A token store that also counts refreshes for every process sharing it (``RedisTokenStore``)."""

    async def reserve_refresh(self) -> float:
        """Book one refresh now and return 0, or return the seconds to wait before one is allowed."""
        ...


@contextlib.asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield


class MemoryTokenStore:
    """Keeps the token in this process only (the default)."""

    __slots__ = ("_token",)

    def __init__(self) -> None:
        self._token: AccessToken | None = None

    async def load(self) -> AccessToken | None:
        return self._token

    async def save(self, token: AccessToken) -> None:
        self._token = token

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return _no_lock()

    def __repr__(self) -> str:
        return "MemoryTokenStore()"


_encode_token = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(AccessToken).decode


class _TokenReply(msgspec.Struct):
    access_token: str | None = None
    api_domain: str | None = None
    # Numbers, or numeric strings (seen from proxies and older endpoints).
    expires_in: float | str | None = None
    expires_in_sec: float | str | None = None
    scope: str | None = None
    error: str | None = None
    error_description: str | None = None


_decode_reply = msgspec.json.Decoder(_TokenReply).decode


_UNREACHABLE_RETRY = RetryPolicy(attempts=4, initial=0.5, maximum=5.0, max_time=20.0)


def _is_json(body: bytes) -> bool:
    return body.lstrip()[:1] in (b"{", b"[")


class _Throttled(Exception):
    """The token endpoint said too many requests: wait, then ask again."""


class TokenManager:
    """Hands out a valid access token, refreshing it once however many callers need it at the same time.

    Args:
        credentials: the OAuth client and refresh token.
        accounts_url: the Zoho Accounts server, e.g. ``https://accounts.zoho.eu``.
        transport: how to reach it.
        store: where tokens are kept (memory by default; a file or Redis to share them).
        retry: backoff for a throttled token endpoint; its ``max_time`` is the longest a refresh waits out Zoho's
            throttle (10 tokens per refresh token per 10 minutes) before failing with the time it can succeed.
            The default keeps trying for up to 15 minutes; ``ZohoCRM(token_wait=...)`` sets it.
        on_event: called with a ``token_refreshed`` event after each refresh.
        clock: wall clock in epoch seconds (tokens outlive processes, so not a monotonic one).
        sleep: how to wait (tests inject one that does not).
    """

    def __init__(
        self,
        credentials: OAuthCredentials,
        *,
        accounts_url: str,
        transport: Transport,
        store: TokenStore | None = None,
        retry: RetryPolicy = RetryPolicy(attempts=12, initial=5.0, maximum=120.0, max_time=900.0),
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._credentials = credentials
        self._token_url = accounts_url.rstrip("/") + "/oauth/v2/token"
        #: An accounts server on this machine (a fake, a tunnel) may name an API server on this machine too.
        self._local_accounts = is_local_origin(accounts_url)
        self._fingerprint = client_fingerprint(accounts_url, credentials.client_id, credentials.refresh_token)
        self._transport = transport
        self._store: TokenStore = store if store is not None else MemoryTokenStore()
        self._retry = retry
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._token: AccessToken | None = None
        self._lock = anyio.Lock()
        #: When this client's recent refreshes happened, to stay under Zoho's 10 per 10 minutes.
        self._recent: deque[float] = deque(maxlen=REFRESHES_PER_WINDOW)
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self._token_url!r}, store={self._store!r})"

    @property
    def api_domain(self) -> str | None:
        """The API domain Zoho returned with the current token, if any."""
        return self._token.api_domain if self._token else None

    async def get_token(self) -> AccessToken:
        """A token that is fresh now, refreshed first if needed (one refresh for all concurrent callers)."""
        token = self._token
        if token is not None and token.is_fresh(self._clock()):
            return token
        return await self._refresh(stale=token)

    async def invalidate(self, token: AccessToken) -> AccessToken:
        """Zoho refused ``token`` (INVALID_TOKEN): get another, unless a concurrent caller already did."""
        return await self._refresh(stale=token)

    async def _refresh(self, *, stale: AccessToken | None) -> AccessToken:
        async with self._lock:
            current = self._token
            if current is not None and current is not stale and current.is_fresh(self._clock()):
                return current  # another caller refreshed while this one waited for the lock
            async with self._store.refresh_lock():
                stored = await self._store.load()
                if stored is not None and stored.client != self._fingerprint:
                    if stored.client is not None:
                        logger.warning("%r holds another client's token; not using it", self._store)
                    stored = None
                if stored is not None and (flaw := stored_token_flaw(stored, self._clock())):
                    logger.warning("%r holds an access token that %s; not using it", self._store, flaw)
                    stored = None
                if stored is not None and stored != stale and stored.is_fresh(self._clock()):
                    # Another process (or an earlier run) refreshed it; its api_domain is checked as a fresh one's.
                    stored = msgspec.structs.replace(stored, api_domain=self._accepted_api_domain(stored.api_domain))
                    self._token = stored
                    return stored
                token = await self._fetch_with_retries()
                await self._store.save(token)
                self._token = token
                return token

    async def _fetch_with_retries(self) -> AccessToken:
        waited = 0.0
        attempt = 0
        first_refusal: float | None = None
        while True:
            attempt += 1
            await self._wait_for_refresh_allowance()
            try:
                return await self._fetch()
            except _Throttled:
                status: int | None = 429
                first_refusal = self._clock() if first_refusal is None else first_refusal
                error: Exception = _throttled_error(first_refusal + REFRESH_WINDOW)
            except (TransportError, ServerError) as exc:
                status, error = (exc.status if isinstance(exc, ServerError) else None), exc
            # Only the throttle lasts Zoho's 10-minute window; an unreachable or failing server gets a few quick
            # tries, so a wrong accounts URL fails in seconds with its cause instead of retrying for 15 minutes.
            policy = self._retry if status == 429 else _UNREACHABLE_RETRY
            delay = policy.delay(attempt=attempt, status=status, waited=waited)
            if delay is None:
                raise error
            logger.warning("token refresh failed (%s: %s); trying again in %.1f s", type(error).__name__, error, delay)
            await self._sleep(delay)
            waited += delay

    async def _wait_for_refresh_allowance(self) -> None:
        """Sleep until one more refresh keeps this client (or every process sharing the store) within 10 per 10 min."""
        if isinstance(self._store, SharedRefreshBudget):
            # A shared store counts every process's refreshes, not only this one's.
            while (wait := await self._store.reserve_refresh()) > 0:
                logger.warning("token refresh waits %.0f s to stay under Zoho's 10 per 10 minutes", wait)
                await self._sleep(wait)
            return
        if len(self._recent) < REFRESHES_PER_WINDOW:
            return
        wait = self._recent[0] + REFRESH_WINDOW - self._clock()
        if wait > 0:
            logger.warning("token refresh waits %.0f s to stay under Zoho's 10 per 10 minutes", wait)
            await self._sleep(wait)

    async def _fetch(self) -> AccessToken:
        form = urllib.parse.urlencode(
            {
                "grant_type": "refresh_token",
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret,
                "refresh_token": self._credentials.refresh_token,
            }
        ).encode()
        request = Request(
            "POST",
            self._token_url,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=form,
        )
        response = await self._transport.send(request)
        self._recent.append(self._clock())  # only an answered request can have issued a token
        if 300 <= response.status < 400:
            # Never followed: a 307 keeps the body, so the secret and refresh token would go where it points.
            raise AuthenticationError(
                f"the token endpoint answered a redirect (HTTP {response.status}); redirects are not followed for "
                "OAuth: check accounts_url", status=response.status, code=f"HTTP_{response.status}",
            )  # fmt: skip
        if response.status >= 500 or (response.status == 429 and not _is_json(response.content)):
            # A server error, or a proxy's throttle page: worth another try, unlike the endpoint's own errors.
            raise ServerError(
                f"token endpoint answered HTTP {response.status}",
                status=response.status,
                code=f"HTTP_{response.status}",
            )
        token = self._parse(response.status, response.content)
        self.refreshes += 1
        logger.info("access token refreshed; valid for %.0f s", token.lifetime)
        if self._on_event is not None:
            self._on_event(Event("token_refreshed", status=response.status))
        return token

    def _accepted_api_domain(self, api_domain: str | None) -> str | None:
        """The token answer's api_domain if requests may go there: https on a Zoho API domain, or anything on
        this machine when the accounts server is on this machine too. Else None (the pinned or data centre's
        domain is used): whoever answered the token request must not choose where every token goes."""
        if not api_domain:
            return None
        domain = api_domain.rstrip("/")
        if is_zoho_api_domain(domain) or (self._local_accounts and is_local_origin(domain)):
            return domain
        # Info, not warning: with a pinned api_domain (a fake, a proxy) the token's is unused anyway.
        logger.info("ignoring the token response's api_domain %r: not https on a Zoho API domain", domain[:100])
        return None

    def _parse(self, status: int, body: bytes) -> AccessToken:
        try:
            reply = _decode_reply(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise AuthenticationError(
                "the token endpoint's answer is not JSON", status=status, code=f"HTTP_{status}"
            ) from None
        if reply.access_token:
            if not is_header_safe(reply.access_token):
                raise AuthenticationError(
                    "the token endpoint's access token holds characters an HTTP header cannot carry",
                    status=status, code="INVALID_TOKEN_VALUE",
                )  # fmt: skip
            lifetime = clamped_lifetime(reply.expires_in, reply.expires_in_sec)
            return AccessToken(
                value=reply.access_token,
                expires_at=self._clock() + lifetime,
                api_domain=self._accepted_api_domain(reply.api_domain),
                lifetime=lifetime,
                client=self._fingerprint,
                scope=reply.scope or None,
            )
        error = reply.error or f"HTTP_{status}"
        description = reply.error_description or ""
        if error == "Access Denied" and "too many requests" in description.lower():
            raise _Throttled()
        raise AuthenticationError(_explain(error, description), status=status, code=error)


def _throttled_error(retry_at: float) -> AuthenticationError:
    """The refusal, saying when a refresh can succeed: Zoho's window is 10 minutes from the first refusal."""
    when = datetime.datetime.fromtimestamp(retry_at, datetime.UTC).strftime("%H:%M:%S UTC")
    return AuthenticationError(
        "Zoho grants at most 10 access tokens per refresh token per 10 minutes and refused another; a refresh "
        f"can succeed from {when} at the latest (if nothing else asks for tokens meanwhile)",
        status=429,
        code="Access Denied",
        details={"retry_at": retry_at},
    )


#: A token said to live less than this is treated as living this long: a zero or negative lifetime would make
#: every request refresh. Short real lifetimes (a test server's few seconds) are kept as they are.
MIN_LIFETIME = 1.0
#: Zoho documents access tokens as living one hour: a longer lifetime (inf, 1e300) is taken as an hour, so the
#: token is still refreshed and a store's expiry stays a number it can hold.
MAX_LIFETIME = 3600.0


def clamped_lifetime(expires_in: float | str | None, expires_in_sec: float | str | None = None) -> float:
    """A token answer's lifetime in seconds, within ``MIN_LIFETIME`` and ``MAX_LIFETIME`` (the refresh and the
    grant-code answers alike: whoever answered must not keep a token cached for years)."""
    # Older token responses gave expires_in in milliseconds beside expires_in_sec; Zoho's SDK still reads both.
    seconds = _number(expires_in_sec)
    if seconds is None:
        given = _number(expires_in)
        seconds = MAX_LIFETIME if given is None else given / 1000 if given > 86_400 else given
    return min(MAX_LIFETIME, max(MIN_LIFETIME, seconds))


#: How far a stored token's expiry may lie beyond ``MAX_LIFETIME`` from now: the clocks of processes sharing a
#: store (Redis) may differ a little.
CLOCK_SLACK = 300.0


def stored_token_flaw(token: AccessToken, now: float) -> str | None:
    """Why a token read from a store (a file, Redis: anyone could have written it) must not be used, or None.

    The refresh path's checks, again: a value an HTTP header cannot carry would make every request fail, and an
    expiry beyond Zoho's hour (or a lifetime outside the clamp) would keep a dead token in use for years.
    """
    if not is_header_safe(token.value):
        return "holds characters an HTTP header cannot carry"
    if not (MIN_LIFETIME <= token.lifetime <= MAX_LIFETIME):
        return f"claims a lifetime of {token.lifetime:.0f} s, outside {MIN_LIFETIME:.0f} to {MAX_LIFETIME:.0f} s"
    if not token.expires_at <= now + MAX_LIFETIME + CLOCK_SLACK:
        return "expires further ahead than Zoho's hour"
    return None


def _number(value: float | str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) or number > 0 else None  # nan and -inf say nothing; inf is long


def is_header_safe(token: str) -> bool:
    """Visible ASCII only: a CR or LF would split the Authorization header (aiohttp refuses it with a bare
    ValueError), and nothing else belongs in a Zoho token."""
    return token.isascii() and token.isprintable() and " " not in token


def _explain(error: str, description: str) -> str:
    explanations: dict[str, str] = {
        "invalid_code": "the refresh token is invalid or was revoked; generate a new one",
        "invalid_client": "the client id or client secret is wrong, or belongs to another data centre",
        "invalid_client_secret": "the client secret is wrong",
    }
    return explanations.get(error) or description or f"token refresh failed: {error}"
