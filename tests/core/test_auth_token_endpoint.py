"""The token endpoint's odd answers: throttling, refused credentials, HTML, 5xx, and Zoho's 10 a 10 minutes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.core.scripted_zoho import (
    ACCESS_PREFIX,
    ACCOUNTS,
    THROTTLED,
    TOKEN_URL,
    Clock,
    Sleeps,
    Zoho,
    client,
    credentials,
    manager,
)
from zcrm_async import AuthenticationError, Request, Response, RetryPolicy, TransportError, ZohoCRM

# private on purpose: TokenManager, the refresh flow as a unit
from zcrm_async._auth import TokenManager
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio


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


async def test_an_unreachable_token_endpoint_fails_the_call_quickly_with_its_cause() -> None:
    token_calls = 0

    def handler(request: Request) -> Response:
        nonlocal token_calls
        if request.url == TOKEN_URL:
            token_calls += 1
            raise TransportError("POST https://accounts.zoho.com/oauth/v2/token failed: connection refused")
        raise AssertionError("no API call without a token")

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=MockTransport(handler),
                  sleep=sleep)
    with pytest.raises(AuthenticationError) as caught:
        await crm.emails.page("Contacts", "5843104000000425349")
    assert caught.value.code == "TOKEN_ENDPOINT_UNREACHABLE" and "connection refused" in str(caught.value)
    assert token_calls == 4 and sum(slept) <= 20  # a few quick tries, not the throttle's 15 minutes
