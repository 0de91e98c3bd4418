"""``crm.modules``: the Deals module's id is learned once per client, shared by concurrent callers, for free when a
Get Emails answer already showed it, and a token without the modules scope is told the way out."""

from __future__ import annotations

import anyio
import pytest

from zcrm_async import MissingScopeError, NotFoundError, RetryPolicy, ZohoCRM
from zcrm_async.plumbing import Request, Response
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

DEALS_ID = "4876876000000000131"
_TOKEN = json_response(200, {"access_token": "1000.a.b", "expires_in": 3600, "api_domain": "https://crm.test"})


def client(handler: object) -> tuple[ZohoCRM, MockTransport]:
    async def answer(request: Request) -> Response:
        if request.url.endswith("/oauth/v2/token"):
            return _TOKEN
        await anyio.sleep(0.01)  # requests overlap, as on a network
        return handler(request)  # type: ignore[operator, no-any-return]

    transport = MockTransport(answer)
    crm = ZohoCRM(
        client_id="id", client_secret="secret", refresh_token="refresh", transport=transport,
        retry=RetryPolicy(attempts=1),
    )  # fmt: skip
    return crm, transport


def api_calls(transport: MockTransport) -> list[str]:
    return [r.url.split("/crm/v8", 1)[1] for r in transport.requests if "/crm/" in r.url]


async def test_concurrent_callers_share_one_lookup_and_the_id_is_kept() -> None:
    crm, transport = client(lambda r: json_response(200, {"modules": [{"api_name": "Deals", "id": DEALS_ID}]}))
    found: list[str] = []

    async def ask() -> None:
        found.append(await crm.modules.id_of("Deals"))

    async with anyio.create_task_group() as tg:
        for _ in range(25):
            tg.start_soon(ask)
    found.append(await crm.modules.id_of("Deals"))

    assert found == [DEALS_ID] * 26
    assert api_calls(transport) == ["/settings/modules/Deals"]
    assert crm.modules.lookups == 1


async def test_an_id_seen_in_a_get_emails_answer_costs_no_lookup() -> None:
    page = {
        "Emails": [
            {"message_id": None, "linked_record": None},
            {"message_id": "abc",
             "linked_record": {"id": "9", "name": "D", "module": {"api_name": "Deals", "id": DEALS_ID}}},
        ],
        "info": {"per_page": 10, "count": 2, "more_records": False, "next_index": None, "prev_index": None},
    }  # fmt: skip
    crm, transport = client(lambda r: json_response(200, page))

    await crm.emails.page("Contacts", "1")

    assert await crm.modules.id_of("Deals") == DEALS_ID
    assert api_calls(transport) == ["/Contacts/1/Emails"]


async def test_a_token_without_the_modules_scope_is_told_the_scope_and_the_override() -> None:
    scope = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "invalid oauth scope", "status": "error"}
    crm, _ = client(lambda r: json_response(401, scope))

    with pytest.raises(MissingScopeError) as raised:
        await crm.modules.id_of("Deals")

    message = str(raised.value)
    assert raised.value.scope == "ZohoCRM.settings.modules.READ"
    assert "ZohoCRM.settings.modules.READ" in message
    assert "deals_module_id=" in message and "--deals-module-id" in message


async def test_an_unknown_module_is_zohos_error_and_nothing_is_kept() -> None:
    invalid = {"code": "INVALID_MODULE", "details": {}, "message": "the module name given seems to be invalid",
               "status": "error"}  # fmt: skip
    crm, transport = client(lambda r: json_response(404, invalid))

    for _ in range(2):
        with pytest.raises(NotFoundError):
            await crm.modules.id_of("Dealz")

    assert crm.modules.known_id("Dealz") is None
    assert len(api_calls(transport)) == 2
