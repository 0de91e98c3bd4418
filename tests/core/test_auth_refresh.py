"""One refresh at a time: many callers without a token, or with an expired or refused one, share one token call."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from tests.core.scripted_zoho import ACCESS_PREFIX, INVALID_TOKEN, Clock, Zoho, client, manager
from zcrm_async import AuthenticationError, Request, Response, raise_for_status
from zcrm_async.testing import json_response

pytestmark = pytest.mark.anyio


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
