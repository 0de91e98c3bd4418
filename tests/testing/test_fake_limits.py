"""FakeZoho's OAuth, limits and fault injection, over real HTTP on 127.0.0.1 with an injected clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho

ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


class Clock:
    """A hand-driven clock for token expiry, the refresh window and credits."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Gate:
    """An injected `sleep` that holds requests in flight until released: no real waiting."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.waiting = 0
        self._arrived = asyncio.Event()

    async def __call__(self, _seconds: float) -> None:
        self.waiting += 1
        self._arrived.set()
        await self.event.wait()

    async def until(self, n: int) -> None:
        """Wait until n requests are held."""
        while self.waiting < n:
            self._arrived.clear()
            await self._arrived.wait()


async def refresh(http: aiohttp.ClientSession, fake: FakeZoho, **over: str) -> dict[str, Any]:
    form = {
        "grant_type": "refresh_token",
        "client_id": fake.config.client_id,
        "client_secret": fake.config.client_secret,
        "refresh_token": fake.config.refresh_token,
        **over,
    }
    async with http.post(f"{fake.accounts_url}/oauth/v2/token", data=form) as resp:
        assert resp.status == 200  # Zoho answers token errors with 200 too
        body: dict[str, Any] = await resp.json()
        return body


async def get(
    http: aiohttp.ClientSession, fake: FakeZoho, token: str | None, path: str = ""
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    contact = fake.add_contact("c") if not path else None
    headers = {"Authorization": f"Zoho-oauthtoken {token}"} if token else {}
    async with http.get(fake.url + (path or f"/crm/v8/Contacts/{contact}/Emails"), headers=headers) as resp:
        raw = await resp.read()
        return resp.status, (json.loads(raw) if raw else None), resp.headers


def run(test: Callable[[FakeZoho, aiohttp.ClientSession], Awaitable[None]], config: FakeConfig | None = None) -> None:
    async def main() -> None:
        async with FakeZoho(config) as fake, aiohttp.ClientSession() as http:
            await test(fake, http)

    asyncio.run(main())


# -- OAuth ----------------------------------------------------------------------------------------------


def test_token_success_and_errors() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        body = await refresh(http, fake)
        assert list(body) == ["access_token", "api_domain", "token_type", "expires_in"]
        assert body["api_domain"] == fake.url and body["token_type"] == "Bearer" and body["expires_in"] == 120
        assert body["access_token"].startswith("1000.") and body["access_token"].count(".") == 2
        assert (await get(http, fake, body["access_token"]))[0] == 204
        assert await refresh(http, fake, refresh_token="wrong") == {"error": "invalid_code"}
        assert await refresh(http, fake, client_secret="wrong") == {"error": "invalid_client"}
        async with http.post(f"{fake.accounts_url}/oauth/v2/token", params={
            "grant_type": "refresh_token", "client_id": fake.config.client_id,
            "client_secret": fake.config.client_secret, "refresh_token": fake.config.refresh_token,
        }) as resp:  # fmt: skip
            assert "access_token" in await resp.json()  # the query-string form works too
        fake.revoke_refresh_token()
        assert await refresh(http, fake) == {"error": "invalid_code"}

    run(test, FakeConfig(token_ttl=120))


def test_eleventh_refresh_in_ten_minutes_is_access_denied() -> None:
    clock = Clock()

    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        for _ in range(10):
            assert "access_token" in await refresh(http, fake)
            clock.now += 30
        assert await refresh(http, fake) == ACCESS_DENIED
        clock.now += 600 - 30 * 9  # the first refresh leaves the 600 s window
        assert "access_token" in await refresh(http, fake)
        assert fake.stats.token_refreshes == 12 and fake.stats.tokens_issued == 11

    run(test, FakeConfig(clock=clock))


def test_tokens_expire_by_the_clock_and_on_demand() -> None:
    clock = Clock()

    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = (await refresh(http, fake))["access_token"]
        status, body, _ = await get(http, fake, None)
        assert (status, body) == (
            401,
            {
                "code": "AUTHENTICATION_FAILURE",
                "details": {},
                "message": "Authentication failed",
                "status": "error",
            },
        )
        clock.now += 3599
        assert (await get(http, fake, token))[0] == 204
        clock.now += 1
        status, body, _ = await get(http, fake, token)
        assert (status, body) == (
            401,
            {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"},
        )
        token = (await refresh(http, fake))["access_token"]
        fake.expire_tokens()
        assert (await get(http, fake, token))[1]["code"] == "INVALID_TOKEN"

    run(test, FakeConfig(clock=clock))


def test_sixteenth_active_token_invalidates_the_oldest() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        tokens = [(await refresh(http, fake))["access_token"] for _ in range(16)]
        assert (await get(http, fake, tokens[0]))[1]["code"] == "INVALID_TOKEN"
        assert (await get(http, fake, tokens[1]))[0] == 204

    run(test, FakeConfig(token_refresh_limit=100))


# -- limits ---------------------------------------------------------------------------------------------


def test_concurrency_cap_answers_429_immediately_above_it() -> None:
    gate = Gate()

    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = fake.issue_token()
        contact = fake.add_contact("c")
        path = f"/crm/v8/Contacts/{contact}/Emails"
        calls = [asyncio.create_task(get(http, fake, token, path)) for _ in range(25)]
        pending = set(calls)
        while len(pending) > 20:  # the throttled ones answer at once; the rest are held at the gate
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        assert gate.waiting == 20 and fake.stats.throttled_429 == 5
        gate.event.set()
        results = await asyncio.gather(*calls)
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [204] * 20 + [429] * 5
        throttled = next(body for status, body, _ in results if status == 429)
        assert throttled["code"] == "TOO_MANY_REQUESTS" and throttled["status"] == "error"
        assert fake.stats.max_in_flight == 20 and fake.stats.credits_used == 20  # a 429 costs no credit
        assert (await get(http, fake, token, path))[0] == 204  # capacity is back

    run(test, FakeConfig(latency=1.0, sleep=gate, concurrency_cap=20))


def test_credits_header_after_half_then_429_until_the_window_rolls() -> None:
    clock = Clock()

    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = fake.issue_token()
        path = f"/crm/v8/Contacts/{fake.add_contact('c')}/Emails"
        remaining: list[str | None] = []
        for _ in range(10):
            status, _, headers = await get(http, fake, token, path)
            assert status == 204
            remaining.append(headers.get("X-API-CREDITS-REMAINING"))
            clock.now += 60
        assert remaining == [None] * 4 + ["5", "4", "3", "2", "1", "0"]
        status, body, headers = await get(http, fake, token, path)
        assert (status, body["code"]) == (429, "TOO_MANY_REQUESTS")
        clock.now = 1_000.0 + 86_400  # the first call's credit is freed 24 h later
        assert (await get(http, fake, token, path))[0] == 204
        assert (await get(http, fake, token, path))[0] == 429

    run(test, FakeConfig(daily_credits=10, clock=clock, token_ttl=10 * 86_400))


def test_burst_429_then_normal() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = fake.issue_token()
        path = f"/crm/v8/Contacts/{fake.add_contact('c')}/Emails"
        assert [(await get(http, fake, token, path))[0] for _ in range(4)] == [429, 429, 429, 204]
        fake.set_faults(burst_429=1)
        assert [(await get(http, fake, token, path))[0] for _ in range(2)] == [429, 204]

    run(test, FakeConfig(burst_429=3))


# -- faults ---------------------------------------------------------------------------------------------


def _link_body(user: str, deal: str, mid: str) -> dict[str, Any]:
    return {
        "Emails": [
            {
                "owner": {"name": "U", "id": user},
                "message_id": mid,
                "linked_record": {
                    "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
                    "name": "D",
                    "id": deal,
                },
            }
        ]
    }


def _link_world(fake: FakeZoho) -> tuple[str, str, str, str]:
    user = fake.add_user("U")
    contact = fake.add_contact("C")
    deal = fake.add_deal("D", [contact])
    return user, contact, deal, fake.add_email(contact, user, received=False)


def test_error_rate_answers_500_without_changing_state() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        user, contact, deal, mid = _link_world(fake)
        headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
        url = f"{fake.url}/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        async with http.post(url, json=_link_body(user, deal, mid), headers=headers) as resp:
            assert resp.status == 500 and (await resp.json())["code"] == "INTERNAL_ERROR"
        assert fake.link_of(mid) is None and fake.stats.errors_500 == 1

    run(test, FakeConfig(error_rate=1.0))


def test_drop_rate_disconnects_without_changing_state() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        user, contact, deal, mid = _link_world(fake)
        headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
        url = f"{fake.url}/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(url, json=_link_body(user, deal, mid), headers=headers):
                pass
        assert fake.link_of(mid) is None and fake.stats.dropped == 1
        assert 200 not in fake.stats.responses

    run(test, FakeConfig(drop_rate=1.0))


def test_lost_response_applies_the_link_and_a_retry_sees_already_linked() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        user, contact, deal, mid = _link_world(fake)
        headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
        url = f"{fake.url}/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        # Reads are never lost: only writes are.
        async with http.get(f"{fake.url}/crm/v8/Contacts/{contact}/Emails", headers=headers) as resp:
            assert resp.status == 200
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with http.post(url, json=_link_body(user, deal, mid), headers=headers):
                pass
        assert fake.link_of(mid) == deal and fake.stats.lost_responses == 1
        fake.set_faults(lost_response_rate=0.0)
        async with http.post(url, json=_link_body(user, deal, mid), headers=headers) as resp:
            assert resp.status == 400
            assert (await resp.json())["Emails"][0][0]["code"] == "ALREADY_LINKED"

    run(test, FakeConfig(lost_response_rate=1.0))


def test_stats_count_requests_by_endpoint_and_reset() -> None:
    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = (await refresh(http, fake))["access_token"]
        await get(http, fake, token)
        assert fake.stats.requests["token"] == 1 and fake.stats.requests["get_emails"] == 1
        assert fake.stats.responses[204] == 1 and fake.stats.credits_used == 1
        fake.reset_stats()
        assert not fake.stats.requests and fake.credits_used == 1  # credits are the org's, not the stats'

    run(test)


def test_heavy_calls_have_their_own_cap() -> None:
    gate = Gate()

    async def test(fake: FakeZoho, http: aiohttp.ClientSession) -> None:
        token = fake.issue_token()
        fake.add_contact("c")
        heavy = "/crm/v8/Contacts?fields=Last_Name&sort_by=id"
        calls = [asyncio.create_task(get(http, fake, token, heavy)) for _ in range(3)]
        done, _ = await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
        assert [t.result()[0] for t in done] == [429] and gate.waiting == 2
        light = asyncio.create_task(get(http, fake, token, "/crm/v8/Contacts?fields=Last_Name"))
        await gate.until(3)  # a plain Get Records is not heavy: it gets in
        gate.event.set()
        results = await asyncio.gather(*calls, light)
        assert sorted(status for status, _, _ in results) == [200, 200, 200, 429]

    run(test, FakeConfig(latency=1.0, sleep=gate, heavy_cap=2))
