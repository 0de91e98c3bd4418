"""OAuth: the refresh grant, single-flight refresh, the token endpoint's odd answers, stores, and no leaks."""

from __future__ import annotations

import inspect
import json
import logging
import os
import stat
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from zcrm_async import (
    AccessToken,
    AuthenticationError,
    FileTokenStore,
    MemoryTokenStore,
    OAuthCredentials,
    Request,
    Response,
    RetryPolicy,
    TransportError,
    ZohoCRM,
    raise_for_status,
)

# private on purpose: TokenManager, the refresh flow as a unit
from zcrm_async._auth import TokenManager
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

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


# -- the grant -----------------------------------------------------------------------------------------------


async def test_refresh_token_grant_is_a_form_post_to_the_accounts_server() -> None:
    zoho = Zoho()
    tokens, transport = manager(zoho)

    token = await tokens.get_token()

    (request,) = transport.requests
    assert (request.method, request.url) == ("POST", TOKEN_URL)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content is not None
    assert urllib.parse.parse_qs(request.content.decode(), strict_parsing=True) == {
        "grant_type": ["refresh_token"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
        "refresh_token": [REFRESH],
    }
    assert request.params is None  # secrets go in the body, never the URL
    assert token.value == f"{ACCESS_PREFIX}1"
    assert token.api_domain == "https://www.zohoapis.eu"
    assert tokens.api_domain == "https://www.zohoapis.eu"


async def test_token_lifetime_and_freshness() -> None:
    clock = Clock()
    zoho = Zoho()
    tokens, _ = manager(zoho, clock=clock)
    token = await tokens.get_token()
    assert token.expires_at == clock.now + 3600
    assert await tokens.get_token() is token
    clock.now += 3600 - 61
    assert await tokens.get_token() is token
    clock.now += 2  # inside the last minute: refreshed before Zoho refuses it
    assert (await tokens.get_token()).value == f"{ACCESS_PREFIX}2"


@pytest.mark.parametrize(
    ("reply", "lifetime"),
    [
        ({"expires_in": 3600}, 3600.0),
        ({"expires_in": 3_600_000, "expires_in_sec": 3600}, 3600.0),  # the older reply: ms beside seconds
        ({"expires_in": 3_600_000}, 3600.0),
        ({}, 3600.0),
    ],
)
async def test_token_lifetime_forms(reply: dict[str, Any], lifetime: float) -> None:
    zoho = Zoho()
    zoho.token_replies.append((200, {"access_token": "1000.A", **reply}))
    tokens, _ = manager(zoho, clock=Clock(0.0))
    token = await tokens.get_token()
    assert token.lifetime == lifetime
    assert token.expires_at == lifetime


async def test_token_api_domain_is_used_for_api_requests() -> None:
    zoho = Zoho(api_domain="https://www.zohoapis.eu")
    crm, transport = client(zoho)  # data_centre "us": the token knows better

    await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")

    token_request, api_request = transport.requests
    assert token_request.url == TOKEN_URL
    assert api_request.url == "https://www.zohoapis.eu/crm/v8/Contacts/1/Emails"
    assert api_request.headers["Authorization"] == f"Zoho-oauthtoken {ACCESS_PREFIX}1"
    assert crm.api_domain == "https://www.zohoapis.eu"


async def test_pinned_api_domain_wins_over_the_token() -> None:
    zoho = Zoho(api_domain="https://www.zohoapis.eu")
    crm, transport = client(zoho, api_domain="http://127.0.0.1:8080/")

    await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")

    assert transport.requests[1].url == "http://127.0.0.1:8080/crm/v8/Contacts/1/Emails"


async def test_without_api_domain_the_data_centre_decides() -> None:
    zoho = Zoho(api_domain=None)
    transport = MockTransport(zoho)
    crm = ZohoCRM(client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH, transport=transport,
                  data_centre="in", accounts_url=ACCOUNTS)
    await crm.request("GET", "/Deals/1", operation="records.get")
    assert transport.requests[1].url == "https://www.zohoapis.in/crm/v8/Deals/1"


async def test_data_centre_picks_the_accounts_server() -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.url)
        return json_response(200, {"access_token": "1000.A", "expires_in": 3600})

    crm = ZohoCRM(client_id=CLIENT_ID, client_secret=SECRET, refresh_token=REFRESH,
                  transport=MockTransport(handler), data_centre="ca")
    await crm.request("GET", "/Deals/1", operation="records.get")
    assert seen == ["https://accounts.zohocloud.ca/oauth/v2/token", "https://www.zohoapis.ca/crm/v8/Deals/1"]


# -- single flight -------------------------------------------------------------------------------------------


async def test_500_concurrent_requests_without_a_token_make_one_token_call() -> None:
    zoho = Zoho(slow=True)
    crm, _ = client(zoho, budget=None)

    async def call(n: int) -> None:
        await crm.request("GET", f"/Contacts/{n}/Emails", operation="emails.list")

    async with anyio.create_task_group() as tg:
        for n in range(500):
            tg.start_soon(call, n)

    assert zoho.token_calls == 1
    assert len(zoho.api_calls) == 500
    assert {r.headers["Authorization"] for r in zoho.api_calls} == {f"Zoho-oauthtoken {ACCESS_PREFIX}1"}
    assert crm.token_refreshes == 1
    assert crm.counters.token_refreshes == 1


async def test_500_concurrent_callers_of_an_expired_token_make_one_token_call() -> None:
    clock = Clock()
    zoho = Zoho(slow=True)
    tokens, _ = manager(zoho, clock=clock)
    await tokens.get_token()
    clock.now += 3600
    got: list[str] = []

    async def get() -> None:
        got.append((await tokens.get_token()).value)

    async with anyio.create_task_group() as tg:
        for _ in range(500):
            tg.start_soon(get)

    assert zoho.token_calls == 2
    assert set(got) == {f"{ACCESS_PREFIX}2"}


# -- 401 INVALID_TOKEN -----------------------------------------------------------------------------------------


async def test_invalid_token_refreshes_once_and_replays_once() -> None:
    zoho = Zoho()

    def api(request: Request) -> Response:
        if request.headers["Authorization"].endswith(f"{ACCESS_PREFIX}1"):
            return json_response(401, INVALID_TOKEN)
        return json_response(200, {"ok": True})

    zoho.api_reply = api
    crm, _ = client(zoho)

    response = await crm.request("POST", "/Contacts/1/Emails/actions/link_record", operation="emails.link",
                                 content=b"{}")

    assert response.status == 200
    assert response.attempts == 2
    assert zoho.token_calls == 2
    assert [r.headers["Authorization"][-1] for r in zoho.api_calls] == ["1", "2"]
    assert zoho.api_calls[1].content == b"{}"


async def test_a_second_invalid_token_is_returned_not_looped() -> None:
    zoho = Zoho()
    zoho.api_reply = lambda request: json_response(401, INVALID_TOKEN)
    crm, _ = client(zoho)

    response = await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")

    assert response.status == 401
    assert zoho.token_calls == 2
    assert len(zoho.api_calls) == 2
    with pytest.raises(AuthenticationError) as info:
        raise_for_status(response)
    assert info.value.code == "INVALID_TOKEN"


@pytest.mark.parametrize("code", ["AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH"])
async def test_other_401s_are_not_refreshed(code: str) -> None:
    # A refresh cannot fix a missing scope: the new token would have the same scopes (a 401 a refresh cannot fix).
    zoho = Zoho()
    zoho.api_reply = lambda request: json_response(401, {"code": code, "details": {}, "message": "x",
                                                         "status": "error"})
    crm, _ = client(zoho)
    response = await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")
    assert response.status == 401
    assert zoho.token_calls == 1
    assert len(zoho.api_calls) == 1


async def test_concurrent_invalid_tokens_share_one_refresh() -> None:
    zoho = Zoho(slow=True)

    async def api(request: Request) -> Response:
        await anyio.lowlevel.checkpoint()
        if request.headers["Authorization"].endswith(f"{ACCESS_PREFIX}1"):
            return json_response(401, INVALID_TOKEN)
        return json_response(200, {"ok": True})

    zoho.api_reply = api
    crm, _ = client(zoho)
    statuses: list[int] = []

    async def call(n: int) -> None:
        statuses.append((await crm.request("GET", f"/Contacts/{n}/Emails", operation="emails.list")).status)

    async with anyio.create_task_group() as tg:
        for n in range(50):
            tg.start_soon(call, n)

    assert statuses == [200] * 50
    assert zoho.token_calls == 2


# -- the token endpoint's answers --------------------------------------------------------------------------


@pytest.mark.parametrize("http_status", [200, 400])
async def test_access_denied_waits_and_tries_again(http_status: int) -> None:
    zoho = Zoho()
    zoho.token_replies.append((http_status, THROTTLED))
    sleeps = Sleeps()
    tokens, _ = manager(zoho, sleep=sleeps)

    token = await tokens.get_token()

    assert token.value == f"{ACCESS_PREFIX}2"
    assert zoho.token_calls == 2
    assert len(sleeps.waits) == 1
    assert 0.0 <= sleeps.waits[0] <= 5.0  # the token policy's first backoff bound


async def test_access_denied_forever_gives_up_with_an_authentication_error() -> None:
    zoho = Zoho()
    zoho.token_replies.extend([(200, THROTTLED)] * 10)
    sleeps = Sleeps()
    tokens, _ = manager(zoho, sleep=sleeps, retry=RetryPolicy.no_wait(attempts=3))

    with pytest.raises(AuthenticationError) as info:
        await tokens.get_token()

    assert zoho.token_calls == 3
    assert sleeps.waits == [0.0, 0.0]
    assert "10 access tokens per refresh token per 10 minutes" in str(info.value)
    # It says when a refresh can succeed: 10 minutes after the first refusal (the clock here is real time).
    assert "can succeed from" in str(info.value)
    assert info.value.details["retry_at"] == pytest.approx(time.time() + 600, abs=30)


async def test_access_denied_through_the_client_waits_with_the_injected_sleep() -> None:
    zoho = Zoho()
    zoho.token_replies.append((200, THROTTLED))
    sleeps = Sleeps()
    crm, _ = client(zoho, sleep=sleeps)
    response = await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")
    assert response.status == 200
    assert len(sleeps.waits) == 1


@pytest.mark.parametrize(
    ("error", "explanation"),
    [
        ("invalid_code", "the refresh token is invalid or was revoked; generate a new one"),
        ("invalid_client", "the client id or client secret is wrong, or belongs to another data centre"),
    ],
)
async def test_refused_credentials_raise_a_clear_authentication_error(error: str, explanation: str) -> None:
    zoho = Zoho()
    zoho.token_replies.append((200, {"error": error}))
    sleeps = Sleeps()
    tokens, _ = manager(zoho, sleep=sleeps)

    with pytest.raises(AuthenticationError) as info:
        await tokens.get_token()

    assert info.value.code == error
    assert info.value.status == 200
    assert str(info.value) == f"[{error}] {explanation}"
    assert zoho.token_calls == 1  # not retried: it cannot get better
    assert sleeps.waits == []


async def test_refused_credentials_fail_a_client_request() -> None:
    zoho = Zoho()
    zoho.token_replies.append((200, {"error": "invalid_client"}))
    crm, transport = client(zoho)
    with pytest.raises(AuthenticationError, match="client secret is wrong"):
        await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")
    assert len(transport.requests) == 1  # no API call without a token


async def test_unknown_token_error_keeps_zohos_description() -> None:
    zoho = Zoho()
    zoho.token_replies.append((400, {"error": "invalid_request", "error_description": "grant_type is missing"}))
    tokens, _ = manager(zoho)
    with pytest.raises(AuthenticationError, match=r"\[invalid_request\] grant_type is missing"):
        await tokens.get_token()


async def test_token_endpoint_html_is_an_authentication_error() -> None:
    def handler(request: Request) -> Response:
        return Response(200, {}, b"<html>login</html>")

    tokens = TokenManager(credentials(), accounts_url=ACCOUNTS, transport=MockTransport(handler), sleep=Sleeps())
    with pytest.raises(AuthenticationError, match="not JSON"):
        await tokens.get_token()


async def test_token_endpoint_5xx_and_transport_errors_are_retried() -> None:
    replies: list[Any] = [TransportError("connection reset"), Response(503, {}, b"busy")]

    def handler(request: Request) -> Response:
        if replies:
            reply = replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply  # type: ignore[no-any-return]
        return json_response(200, {"access_token": "1000.A", "expires_in": 3600})

    sleeps = Sleeps()
    tokens = TokenManager(credentials(), accounts_url=ACCOUNTS, transport=MockTransport(handler), sleep=sleeps)
    assert (await tokens.get_token()).value == "1000.A"
    assert len(sleeps.waits) == 2


async def test_the_eleventh_refresh_in_ten_minutes_waits() -> None:
    clock = Clock()
    sleeps = Sleeps(clock)
    zoho = Zoho()
    tokens, _ = manager(zoho, clock=clock, sleep=sleeps)
    start = clock.now

    token = await tokens.get_token()
    for _ in range(9):
        clock.now += 1.0
        token = await tokens.invalidate(token)
    assert zoho.token_calls == 10
    assert sleeps.waits == []

    clock.now += 1.0  # 10 s after the first refresh
    token = await tokens.invalidate(token)

    assert zoho.token_calls == 11
    assert sleeps.waits == [pytest.approx(590.0)]  # until the first of the ten leaves the 10-minute window
    assert clock.now == pytest.approx(start + 600.0)


async def test_invalidate_of_an_already_replaced_token_does_not_refresh() -> None:
    zoho = Zoho()
    tokens, _ = manager(zoho)
    old = await tokens.get_token()
    new = await tokens.invalidate(old)
    assert await tokens.invalidate(old) is new  # a late caller with the old token gets the new one
    assert zoho.token_calls == 2


# -- stores --------------------------------------------------------------------------------------------------


async def test_file_store_writes_0600_atomically_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token.json"
    store = FileTokenStore(path)
    assert await store.load() is None

    token = AccessToken(value=f"{ACCESS_PREFIX}file", expires_at=1_800_000_000.0, api_domain="https://www.zohoapis.eu")
    await store.save(token)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["token.json"]  # no temporary file left behind
    assert json.loads(path.read_bytes())["access_token"] == f"{ACCESS_PREFIX}file"
    assert await FileTokenStore(path).load() == token


async def test_file_store_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    await FileTokenStore(path).save(AccessToken(value="1000.B", expires_at=1.0))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.stat(path).st_ino != inode  # replaced by rename, never rewritten in place


async def test_file_store_ignores_an_unreadable_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(b'{"access_token": "half')
    path.chmod(0o600)
    assert await FileTokenStore(path).load() is None
    assert "unreadable token file" in caplog.text


async def test_a_stored_fresh_token_is_reused_across_runs(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "token.json"
    first_zoho = Zoho()
    first, _ = manager(first_zoho, clock=clock, store=FileTokenStore(path))
    await first.get_token()

    second_zoho = Zoho()
    second, transport = manager(second_zoho, clock=clock, store=FileTokenStore(path))
    token = await second.get_token()

    assert token.value == f"{ACCESS_PREFIX}1"
    assert transport.requests == []
    assert second.api_domain == "https://www.zohoapis.eu"


async def test_a_stored_token_that_was_refused_is_not_reused(tmp_path: Path) -> None:
    clock = Clock()
    store = MemoryTokenStore()
    zoho = Zoho()
    tokens, _ = manager(zoho, clock=clock, store=store)
    old = await tokens.get_token()
    new = await tokens.invalidate(old)
    assert new != old
    assert await store.load() == new


# -- no secret anywhere ----------------------------------------------------------------------------------------


def secrets(zoho_tokens: int) -> list[str]:
    return [SECRET, REFRESH, "REFRESH-xyz789", *(f"{ACCESS_PREFIX}{n}" for n in range(1, zoho_tokens + 1))]


async def test_no_token_or_secret_in_logs_reprs_or_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zcrm_async")
    zoho = Zoho()
    zoho.token_replies.append((200, THROTTLED))
    script: list[Any] = [
        json_response(401, INVALID_TOKEN),
        TransportError("connection reset by peer"),
        json_response(500, {"code": "INTERNAL_ERROR", "details": {}, "message": "boom", "status": "error"}),
        json_response(429, {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "slow", "status": "error"},
                      headers={"Retry-After": "1"}),
        json_response(200, {"ok": True}, headers={"X-API-CREDITS-REMAINING": "100"}),
        json_response(400, {"code": "INVALID_DATA", "details": {}, "message": "bad", "status": "error"}),
    ]

    def api(request: Request) -> Response:
        reply = script.pop(0) if script else json_response(200, {})
        if isinstance(reply, Exception):
            raise reply
        return reply  # type: ignore[no-any-return]

    zoho.api_reply = api
    crm, transport = client(zoho)
    texts: list[str] = []

    async with crm:
        await crm.request("POST", "/Contacts/1/Emails/actions/link_record", operation="emails.link", content=b"{}")
        response = await crm.request("GET", "/Contacts/1/Emails", operation="emails.list",
                                     params={"index": "abc"})
        try:
            raise_for_status(response)
        except AuthenticationError as exc:  # pragma: no cover - the script ends on a 400
            texts += [str(exc), repr(exc)]
        except Exception as exc:
            texts += [str(exc), repr(exc)]
        token = await crm._tokens.get_token()
        texts += [repr(crm), str(crm), repr(crm._tokens), repr(token), str(token), repr(credentials())]
        texts += [repr(dict(token.__rich_repr__()))]  # rich's pretty printer (the CLI uses rich) must not leak it
        texts += [repr(request) for request in transport.requests]
        texts += [repr(crm.counters), repr(crm.limiter)]

    # a refusal from the token endpoint, with its exception text
    refused = Zoho()
    refused.token_replies.append((200, {"error": "invalid_client", "error_description": "bad client"}))
    bad_crm, _ = client(refused)
    with pytest.raises(AuthenticationError) as info:
        await bad_crm.request("GET", "/Contacts/1/Emails", operation="emails.list")
    texts += [str(info.value), repr(info.value), repr(bad_crm)]

    everything = "\n".join([caplog.text, *texts])
    assert zoho.token_calls >= 2 and "HTTP Request" in caplog.text  # the run did log, and refreshed
    for secret in secrets(zoho.token_calls):
        assert secret not in everything, secret
