"""OAuth's refresh grant: the form post, the token's lifetime, and which servers the token and data centre pick."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.core.scripted_zoho import (
    ACCESS_PREFIX,
    ACCOUNTS,
    CLIENT_ID,
    REFRESH,
    SECRET,
    TOKEN_URL,
    Clock,
    Zoho,
    client,
    manager,
)
from zcrm_async import Request, Response, ZohoCRM
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio


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
