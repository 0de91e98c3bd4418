"""No token or client secret in a log line, repr or exception, whatever the token endpoint and the API answer."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.core.scripted_zoho import ACCESS_PREFIX, INVALID_TOKEN, REFRESH, SECRET, THROTTLED, Zoho, client, credentials
from zcrm_async import AuthenticationError, Request, Response, TransportError, raise_for_status
from zcrm_async.testing import json_response

pytestmark = pytest.mark.anyio


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
