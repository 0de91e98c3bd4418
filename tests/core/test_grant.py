"""The authorization-code grant: a Self Client's grant code turned into a refresh token (issue 9, point 2)."""

from __future__ import annotations

import urllib.parse

import pytest

from zcrm_async import AuthenticationError, exchange_grant_code

# private on purpose: the client fingerprint and the CLI's scope table, units of their own
from zcrm_async._auth import client_fingerprint
from zcrm_async.cli._scopes import COMMAND_SCOPES, RECOMMENDED_SCOPES, covers, missing_scopes, parse_scopes
from zcrm_async.plumbing import Request
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

ACCOUNTS = "https://accounts.zoho.eu"
GRANTED = {
    "access_token": "1000.access-DO-NOT-PRINT", "refresh_token": "1000.refresh-DO-NOT-PRINT",
    "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.modules.READ", "api_domain": "https://www.zohoapis.eu",
    "token_type": "Bearer", "expires_in": 3600,
}  # fmt: skip


async def test_the_code_is_a_form_post_of_the_authorization_code_grant() -> None:
    transport = MockTransport(lambda request: json_response(200, GRANTED))
    grant = await exchange_grant_code(
        "1000.code", client_id="1000.CID", client_secret="sec", accounts_url=ACCOUNTS, transport=transport
    )
    (request,) = transport.requests
    assert (request.method, request.url) == ("POST", f"{ACCOUNTS}/oauth/v2/token")
    assert request.content is not None
    assert urllib.parse.parse_qs(request.content.decode()) == {
        "grant_type": ["authorization_code"], "client_id": ["1000.CID"], "client_secret": ["sec"],
        "code": ["1000.code"],
    }  # fmt: skip
    assert grant.refresh_token == "1000.refresh-DO-NOT-PRINT"
    assert grant.api_domain == "https://www.zohoapis.eu"
    # The first access token is stamped for the client it belongs to, so a token cache can keep it.
    assert grant.access_token.client == client_fingerprint(ACCOUNTS, "1000.CID", "1000.refresh-DO-NOT-PRINT")
    assert "DO-NOT-PRINT" not in repr(grant)


@pytest.mark.parametrize(
    ("body", "says"),
    [({"error": "invalid_code"}, "already used or expired"), ({"error": "invalid_client"}, "client secret")],
)
async def test_a_refused_code_says_why(body: dict[str, str], says: str) -> None:
    def answer(request: Request) -> object:
        return json_response(200, body)  # Zoho answers its OAuth errors with HTTP 200

    with pytest.raises(AuthenticationError) as info:
        await exchange_grant_code("1000.x", client_id="c", client_secret="s", accounts_url=ACCOUNTS,
                                  transport=MockTransport(answer))  # type: ignore[arg-type]  # fmt: skip
    assert says in str(info.value)


def test_scopes_are_covered_by_wider_ones() -> None:
    assert covers(parse_scopes("ZohoCRM.modules.ALL"), "ZohoCRM.modules.emails.CREATE")
    assert covers(parse_scopes("zohocrm.modules.emails.all"), "ZohoCRM.modules.emails.READ")
    assert covers(parse_scopes("ZohoCRM.modules.READ"), "ZohoCRM.modules.contacts.READ")
    assert covers(parse_scopes("ZohoCRM.settings.ALL"), "ZohoCRM.settings.modules.READ")
    assert not covers(parse_scopes("ZohoCRM.modules.emails.READ"), "ZohoCRM.modules.emails.CREATE")
    assert not covers(parse_scopes("ZohoCRM.modules.deals.ALL"), "ZohoCRM.modules.emails.CREATE")
    assert missing_scopes(parse_scopes("ZohoCRM.modules.emails.ALL, ZohoCRM.modules.contacts.ALL"),
                          COMMAND_SCOPES["backfill link"]) == ["ZohoCRM.modules.deals.CREATE"]  # fmt: skip


def test_the_recommended_scopes_cover_every_command_and_are_one_comma_separated_line() -> None:
    granted = parse_scopes(RECOMMENDED_SCOPES)
    assert " " not in RECOMMENDED_SCOPES
    for needs in COMMAND_SCOPES.values():
        assert missing_scopes(granted, needs) == []
