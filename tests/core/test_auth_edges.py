"""Token responses and token-endpoint failures that a Zoho-like server (or a proxy in front of it) may produce."""

from __future__ import annotations

from typing import Any

import pytest

from zcrm_async import OAuthCredentials, TransportError

# private on purpose: TokenManager's edges (lifetimes, clock) as a unit
from zcrm_async._auth import MIN_LIFETIME, TokenManager
from zcrm_async.plumbing import Request, Response
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

CREDENTIALS = OAuthCredentials(client_id="1000.ID", client_secret="SECRET-abc123", refresh_token="1000.REFRESH")


def manager(handler: Any, sleeps: list[float] | None = None) -> TokenManager:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return TokenManager(
        CREDENTIALS, accounts_url="https://accounts.example", transport=MockTransport(handler), sleep=sleep
    )


async def test_a_trailing_slash_on_api_domain_is_dropped() -> None:
    tokens = manager(lambda _: json_response(200, {"access_token": "a", "api_domain": "https://www.zohoapis.eu/"}))
    await tokens.get_token()
    assert tokens.api_domain == "https://www.zohoapis.eu"


@pytest.mark.parametrize(
    ("reply", "lifetime"),
    [
        ({"expires_in": "3600"}, 3600.0),  # a numeric string
        ({"expires_in": 3_600_000, "expires_in_sec": 3600}, 3600.0),  # the old milliseconds form
        ({"expires_in": 0}, MIN_LIFETIME),  # never "always expired": that would refresh on every request
        ({}, 3600.0),
    ],
)
async def test_token_lifetimes(reply: dict[str, Any], lifetime: float) -> None:
    tokens = manager(lambda _: json_response(200, {"access_token": "a", **reply}))
    assert (await tokens.get_token()).lifetime == lifetime


async def test_an_unreachable_token_endpoint_fails_in_seconds_with_its_cause() -> None:
    calls: list[Request] = []

    def refuse(request: Request) -> Response:
        calls.append(request)
        raise TransportError("POST https://accounts.example/oauth/v2/token failed: connection refused")

    sleeps: list[float] = []
    with pytest.raises(TransportError, match="connection refused") as caught:
        await manager(refuse, sleeps).get_token()
    assert len(calls) == 4 and sum(sleeps) <= 20
    assert "SECRET-abc123" not in str(caught.value)


async def test_a_proxy_throttle_page_on_the_token_endpoint_is_retried() -> None:
    replies = iter([Response(429, {}, b"<html>slow down</html>"), json_response(200, {"access_token": "a"})])
    tokens = manager(lambda _: next(replies), [])
    assert (await tokens.get_token()).value == "a"
