"""``ZohoCRM``: the client's lifecycle and its send pipeline, nothing else.

The request path reads top to bottom, one concern per method::

    request                             (the checks; refresh once and replay once on 401 INVALID_TOKEN)
            -> _send_handling_retries   (429, 5xx, no response: backoff outside the concurrency slot)
            -> _send_single_request     (credits, a slot in flight, the current token, the transport, feedback)
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self

import anyio

from ._auth import AccessToken, OAuthCredentials, TokenManager, TokenStore
from ._config import Budget, Timeouts, resolve_data_centre
from ._errors import (
    AuthenticationError,
    InvalidRequestError,
    RedisUnavailable,
    ResponseTooLarge,
    TransportError,
    error_from_response,
)
from ._events import Counters, Event, EventBus
from ._limits import Limiter, LocalLimiter
from ._origins import checked_pinned_url, is_zoho_api_domain
from ._retry import RetryPolicy, parse_retry_after
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, AiohttpTransport, BodySink, Request, Response, Transport

if TYPE_CHECKING:
    import aiohttp

    from .bulk_jobs import BulkJobs
    from .emails import Emails
    from .modules import Modules
    from .records import Records

__all__ = ["Target", "ZohoCRM"]

logger = logging.getLogger("zcrm_async")

_INVALID_TOKEN_CODES = (b'"INVALID_TOKEN"', b'"INVALID_OAUTHTOKEN"')
_CREDITS_HEADER = "X-API-CREDITS-REMAINING"


class ZohoCRM:
    """An async client for one Zoho CRM org. Use it as ``async with ZohoCRM(...) as crm:``.

    Args:
        client_id, client_secret, refresh_token: the OAuth client and refresh token (or ``credentials``).
        data_centre: ``"us"``, ``"eu"``, ``"in"``, ``"au"``, ``"jp"``, ``"cn"``, ``"ca"``, ``"sa"``, optionally
            with ``-sandbox`` or ``-developer``.
        api_domain: pin the API server (else the token response's ``api_domain`` when it is https on a Zoho API
            domain, else the data centre's). https, or plain http on a loopback host (127.0.0.1, ::1, localhost).
        accounts_url: pin the OAuth server (else the data centre's); https, or http on a loopback host.
        api_version: the CRM API version in paths; link/unlink need ``"v8"``.
        budget: the org's limits (``Budget.for_edition(...)``); with ``limiter``, only its cost table and heavy
            operations are read here (the limiter enforces the rest).
        limiter: a budget enforcer shared with other clients or processes (e.g. ``RedisLimiter``).
        retry: the retry policy.
        token_store: where access tokens are kept (memory by default; ``FileTokenStore`` keeps them across runs).
        token_wait: the longest, in seconds, a token refresh waits out Zoho's throttle (10 access tokens per
            refresh token per 10 minutes) before failing with the time a refresh can succeed; 0 fails at once.
        transport: how requests are sent; a transport passed in is never closed by the client.
        session: an ``aiohttp.ClientSession`` of the caller's to send through; never closed by the client.
        timeouts: per-request timeouts of the default transport.
        max_response_bytes: the default transport's largest body (decompressed); past it the call fails with
            ``ResponseTooLarge``.
        sleep: how backoff waits (tests inject one that does not).
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        credentials: OAuthCredentials | None = None,
        data_centre: str = "us",
        api_domain: str | None = None,
        accounts_url: str | None = None,
        api_version: str = "v8",
        budget: Budget | None = None,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
        timeouts: Timeouts = Timeouts(),
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        token_wait: float = 900.0,
    ) -> None:
        if credentials is None:
            if not (client_id and client_secret and refresh_token):
                raise ValueError("pass client_id, client_secret and refresh_token, or credentials=")
            credentials = OAuthCredentials(
                client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
            )
        if transport is not None and session is not None:
            raise ValueError("pass a transport or a session, not both")
        dc = resolve_data_centre(data_centre)
        self._pinned_api_domain = checked_pinned_url(api_domain, "api_domain") if api_domain else None
        if accounts_url:
            accounts_url = checked_pinned_url(accounts_url, "accounts_url")
        self._default_api_domain = dc.api_domain
        self._api_version = api_version.strip("/")
        self._owns_transport = transport is None
        self._transport: Transport = transport or AiohttpTransport(
            session=session, timeouts=timeouts, limit=max(100, (budget or Budget()).concurrency * 2),
            max_response_bytes=max_response_bytes,
        )  # fmt: skip
        self.budget = budget or Budget()
        self._limiter: Limiter = limiter or LocalLimiter(self.budget)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rand = random.Random()
        #: Subscribe to see every request, response, retry, throttle and token refresh.
        self.events = EventBus()
        #: Running totals of what the client did.
        self.counters = Counters()
        self._tokens = TokenManager(
            credentials,
            accounts_url=accounts_url or dc.accounts_url,
            transport=self._transport,
            store=token_store,
            retry=RetryPolicy(attempts=1_000, initial=5.0, maximum=120.0, max_time=max(0.0, token_wait)),
            on_event=self._token_refreshed,
            sleep=sleep,
        )
        self._closed = False
        self._emails: Emails | None = None
        self._records: Records | None = None
        self._modules: Modules | None = None
        self._bulk: BulkJobs | None = None

    @property
    def api_version(self) -> str:
        """The CRM API version in request paths (``/crm/{api_version}/...``)."""
        return self._api_version

    def __repr__(self) -> str:
        return f"<ZohoCRM api_domain={self.api_domain!r} version={self._api_version!r}>"

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this ZohoCRM client is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session the client opened (never one passed in). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._owns_transport:
                await self._transport.aclose()
            await self._limiter.aclose()

    # -- resources -------------------------------------------------------------------------------------------

    @property
    def emails(self) -> Emails:
        """The Emails resource: list, get, link, unlink, relink, associate."""
        if self._emails is None:
            from .emails import Emails

            self._emails = Emails(self)
        return self._emails

    @property
    def records(self) -> Records:
        """Records of a module (Contacts, Deals, ...): paging for backfills, related-records updates."""
        if self._records is None:
            from .records import Records

            self._records = Records(self)
        return self._records

    @property
    def modules(self) -> Modules:
        """Module metadata: the module ids link bodies need, learned once per client."""
        if self._modules is None:
            from .modules import Modules

            self._modules = Modules(self)
        return self._modules

    @property
    def bulk(self) -> BulkJobs:
        """Bulk Read (exports as CSV files) and Bulk Write (imports from CSV files) jobs."""
        if self._bulk is None:
            from .bulk_jobs import BulkJobs

            self._bulk = BulkJobs(self)
        return self._bulk

    @property
    def api_domain(self) -> str:
        """Where API requests go: the pinned domain, else the token's, else the data centre's."""
        return self._pinned_api_domain or self._tokens.api_domain or self._default_api_domain

    async def authenticate(self) -> AccessToken:
        """A valid access token now: the stored one while it is fresh, else one refresh.

        Checks the credentials (and reaches the accounts server) before any work; the token's ``api_domain`` and
        ``scope`` say where the org lives and what Zoho granted.
        """
        return await self._tokens.get_token()

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    @property
    def token_refreshes(self) -> int:
        """Calls this client made to the token endpoint."""
        return self._tokens.refreshes

    def _token_refreshed(self, event: Event) -> None:
        self.counters.refreshed()
        if self.events:
            self.events.emit(event)

    # -- the send pipeline -----------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        target: Target | None = None,
        units: int = 1,
    ) -> Response:
        """Send one API request through auth, retries and the budget; return the final response.

        The response is returned whatever its status (bulk writes read per-item results out of 400s); call
        ``raise_for_status(response)`` for the exception. ``TransportError`` is raised when no try got a response.

        Args:
            method: HTTP method.
            path: path below ``/crm/{version}``, e.g. ``/Contacts/123/Emails``.
            operation: the operation's name in the budget's cost table, e.g. ``"emails.link"``.
            target: another path prefix (the Bulk APIs' ``/crm/bulk/{version}``), another of Zoho's API hosts
                (the upload server), or a sink for a large body (see ``Target``).
            units: how many of the operation's priced units the call carries: it costs the table's credits times
                this (a record write is priced per 10 records: "API Limits").
        """
        if self._closed:
            raise RuntimeError("this ZohoCRM client is closed; create a new one")
        if target is not None and target.origin is not None and not is_zoho_api_domain(target.origin):
            # The token goes wherever the request goes: never to a server that is not one of Zoho's API hosts.
            raise ValueError(f"{target.origin!r} is not one of Zoho's API hosts; no token is sent there")
        if units < 1:
            raise ValueError("units must be at least 1")
        # The 401 handling is written here rather than in a method of its own: a call queued for its place holds
        # every coroutine of its path, and at the cap 3,000 of them wait at once (figure 2 of ``benchmarks/``).
        response, token = await self._send_handling_retries(
            method, path, operation, params, content, headers, target, units
        )
        if response.status == 401 and any(code in response.content for code in _INVALID_TOKEN_CODES):
            # Expired or revoked early: one refresh (shared with concurrent callers) and one replay.
            await self._tokens.invalidate(token)
            replay, _ = await self._send_handling_retries(
                method, path, operation, params, content, headers, target, units
            )
            replay.attempts += response.attempts
            replay.replayed = replay.replayed or response.replayed
            response = replay
        return response

    async def _send_handling_retries(
        self,
        method: str,
        path: str,
        operation: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        extra_headers: Mapping[str, str] | None,
        target: Target | None = None,
        units: int = 1,
    ) -> tuple[Response, AccessToken]:
        """The final response after retries, and the token its last try was sent with."""
        headers: dict[str, str] = {"Content-Type": "application/json"} if content is not None else {}
        if extra_headers:
            headers.update(extra_headers)
        attempt = 0
        waited = 0.0
        replayed = False
        while True:
            attempt += 1
            try:
                response, token = await self._send_single_request(
                    method, path, params, headers, content, operation, target, units
                )
            except RedisUnavailable as exc:
                # Nothing was sent this time (the shared budget is unreachable): one clear error now, not a retry
                # loop around it. But an earlier try that got no answer (or a 5xx) may have been applied: then it
                # is a lost response like any other, not "nothing was sent", which would let a caller resend it.
                if replayed:
                    lost = "an earlier try got no response and may have been applied"
                    raise TransportError(f"{lost}; then {exc}") from exc
                raise
            except ResponseTooLarge:
                raise  # the same answer would come back
            except TransportError as exc:
                self.counters.unanswered()
                if self.events:
                    self.events.emit(Event("error", method=method, path=path, attempt=attempt))
                delay = self._retry.delay(attempt=attempt, status=None, waited=waited, rand=self._rand)
                if delay is None or (target is not None and not target.resend_unanswered):
                    raise
                logger.info("%s %s got no response (%s); retry %d in %.2f s", method, path, exc, attempt, delay)
                replayed = True
            else:
                response.attempts = attempt
                response.replayed = replayed
                status = response.status
                if not self._retry.should_retry(status):
                    return response, token
                retry_after = parse_retry_after(response.header("Retry-After"))
                delay = self._retry.delay(
                    attempt=attempt, status=status, waited=waited, retry_after=retry_after, rand=self._rand
                )
                if delay is None or (status >= 500 and target is not None and not target.resend_unanswered):
                    return response, token
                replayed = replayed or status >= 500
            self.counters.retried()
            if self.events:
                self.events.emit(Event("retry", method=method, path=path, attempt=attempt, delay=delay))
            # Backoff happens here, outside the concurrency slot, so waiting never blocks other calls.
            await self._sleep(delay)
            waited += delay

    async def _send_single_request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        content: bytes | None,
        operation: str,
        target: Target | None = None,
        units: int = 1,
    ) -> tuple[Response, AccessToken]:
        budget = self.budget
        cost = budget.cost_of(operation) * units
        await self._limiter.acquire_credits(cost)
        counters, events = self.counters, self.events
        async with self._limiter.slot(heavy=budget.is_heavy(operation)) as permit:
            # The token (and the API domain it names) is taken only now that the call goes out: a call that
            # queued for its slot while the token was refreshed or expired must not carry the old one.
            try:
                token = await self._tokens.get_token()
            except RedisUnavailable:
                raise  # the token store, not the token endpoint, is unreachable
            except TransportError as exc:
                # The accounts server, not the API, is unreachable: the API retry loop must not take this for
                # a lost API call (it would retry, and replay-check, a request that was never sent).
                raise AuthenticationError(
                    f"the token endpoint could not be reached: {exc}", status=0, code="TOKEN_ENDPOINT_UNREACHABLE"
                ) from exc
            url = self._url_of(path, target)
            request = Request(
                method, url, params=params, headers={**headers, "Authorization": f"Zoho-oauthtoken {token.value}"},
                content=content, sink=target.sink if target is not None else None,
            )  # fmt: skip
            counters.sent(cost)
            listening = bool(events)  # asked once here: EventBus.__bool__ is a Python call
            if listening:  # the per-request events are built only when someone listens: this is the hot path
                events.emit(Event("request", method=method, path=url))
            # Timed only for a subscriber or the DEBUG line: two clock reads and a log call less per request
            # otherwise (figure 1 of ``benchmarks/``).
            timed = listening or logger.isEnabledFor(logging.DEBUG)
            started = time.perf_counter() if timed else 0.0
            try:
                response = await self._transport.send(request)
            finally:
                counters.returned()
            # None for a request that went out before anyone subscribed (or turned DEBUG on): it was not timed.
            elapsed = time.perf_counter() - started if timed else None
        status = response.status
        remaining = _credits_remaining(response.header(_CREDITS_HEADER))
        self._limiter.on_response(permit, throttled=status == 429, credits_remaining=remaining)
        counters.answered(status, remaining)
        if events:
            self._publish_answer(method, url, status, elapsed, remaining)
        if elapsed is not None:
            logger.debug("HTTP Request: %s %s -> %d (%.1f ms)", method, url, status, elapsed * 1e3)
        return response, token


    def _publish_answer(
        self, method: str, url: str, status: int, elapsed: float | None, remaining: int | None
    ) -> None:
        """The events of one answer, for subscribers (the counters took it already)."""
        self.events.emit(Event("response", method=method, path=url, status=status, elapsed=elapsed))
        if status == 429:
            self.events.emit(Event("throttled", method=method, path=url, status=status))
        if remaining is not None:
            self.events.emit(Event("credits", credits_remaining=remaining))

    def _url_of(self, path: str, target: Target | None) -> str:
        if target is None:
            return f"{self.api_domain}/crm/{self._api_version}{path}"
        origin = target.origin or self.api_domain
        prefix = f"/crm/{self._api_version}" if target.prefix is None else target.prefix
        return f"{origin}{prefix}{path}"


class Target:
    """Where a request goes when it is not below ``{api_domain}/crm/{version}``, and where its body is kept.

    Attributes:
        prefix: the path's prefix instead of ``/crm/{version}`` (``"/crm/bulk/v8"``; ``""`` for a path Zoho
            handed back whole, such as a download URL's).
        origin: one of Zoho's API hosts instead of the API domain (``https://content.zohoapis.com`` for uploads);
            anything else is refused before a token is taken.
        sink: where an accepted body is streamed instead of memory (a Bulk API's result file).
        resend_unanswered: False for a write that must not be applied twice and cannot be read back (creating a
            Bulk Write job): a try that got no answer, or a 5xx, is returned or raised, never resent. A 429 is
            still retried (Zoho applied nothing).
    """

    __slots__ = ("origin", "prefix", "resend_unanswered", "sink")

    def __init__(
        self,
        *,
        prefix: str | None = None,
        origin: str | None = None,
        sink: BodySink | None = None,
        resend_unanswered: bool = True,
    ) -> None:
        self.prefix = prefix
        self.origin = origin
        self.sink = sink
        self.resend_unanswered = resend_unanswered

    def __repr__(self) -> str:
        return f"<Target origin={self.origin!r} prefix={self.prefix!r}>"


def _credits_remaining(value: str | None) -> int | None:
    """The header's count, or None when absent or malformed: a broken header must never fail a call whose
    write Zoho already applied. ASCII digits only (``str.isdigit`` takes '²'), and no more than 12 of them."""
    if value and len(value) <= 12 and value.isascii() and value.isdigit():
        return int(value)
    return None


def raise_for_status(response: Response) -> Response:
    """Raise the mapped ``APIError`` for a 4xx/5xx response, ``InvalidRequestError`` for a redirect (never
    followed: it could lead the token elsewhere); return the response otherwise."""
    if 300 <= response.status < 400:
        location = response.header("Location") or "nowhere"
        raise InvalidRequestError(
            f"the server redirected to {location}; redirects are not followed", status=response.status,
            code=f"HTTP_{response.status}",
        )  # fmt: skip
    if response.status >= 400:
        raise error_from_response(
            response.status, response.content, retry_after=parse_retry_after(response.header("Retry-After"))
        )
    return response
