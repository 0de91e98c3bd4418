"""The send pipeline: retries, Retry-After, credits feedback, events and counters, lifecycle."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import anyio
import pytest

# private on purpose: the client module's transport, patched to see which one it builds
import zcrm_async._client as client_module
from zcrm_async import (
    Budget,
    Event,
    LocalLimiter,
    OAuthCredentials,
    RateLimitError,
    Request,
    Response,
    RetryPolicy,
    ServerError,
    TransportError,
    ZohoCRM,
    raise_for_status,
)
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"
ERROR_500 = {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error", "status": "error"}
ERROR_429 = {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "slow down", "status": "error"}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Script:
    """API answers in order (a Response, or an exception to raise); the token endpoint always answers."""

    def __init__(self, *replies: Response | Exception) -> None:
        self.replies = list(replies)
        self.api: list[Request] = []

    def __call__(self, request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600,
                                       "api_domain": "https://www.zohoapis.com"})
        self.api.append(request)
        reply = self.replies.pop(0) if self.replies else json_response(200, {"ok": True})
        if isinstance(reply, Exception):
            raise reply
        return reply


def make(script: Script, **kwargs: Any) -> tuple[ZohoCRM, MockTransport, Sleeps, list[Event]]:
    sleeps = Sleeps()
    transport = MockTransport(script)
    kwargs.setdefault("retry", RetryPolicy.no_wait(attempts=4))
    crm = ZohoCRM(client_id="1000.id", client_secret="secret", refresh_token="1000.refresh",
                  transport=transport, sleep=sleeps, **kwargs)
    events: list[Event] = []
    crm.events.subscribe(events.append)
    return crm, transport, sleeps, events


async def get(crm: ZohoCRM) -> Response:
    return await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")


async def test_a_transport_error_is_retried_then_raised() -> None:
    script = Script(*[TransportError("connection reset")] * 10)
    crm, _, sleeps, events = make(script)

    with pytest.raises(TransportError, match="connection reset"):
        await get(crm)

    assert len(script.api) == 4
    assert len(sleeps.waits) == 3
    assert [e.kind for e in events].count("error") == 4
    assert crm.counters.transport_errors == 4
    assert crm.counters.retries == 3


async def test_a_transport_error_then_success_is_a_replayed_response() -> None:
    script = Script(TransportError("reset"), json_response(200, {"ok": True}))
    crm, _, _, _ = make(script)
    response = await get(crm)
    assert (response.status, response.attempts, response.replayed) == (200, 2, True)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_429_and_5xx_are_retried_with_the_injected_sleep(status: int) -> None:
    body = ERROR_429 if status == 429 else ERROR_500
    script = Script(json_response(status, body), json_response(status, body), json_response(200, {"ok": True}))
    # Delays of 1,000 s: a real sleep would blow the fail_after below.
    crm, _, sleeps, _ = make(script, retry=RetryPolicy(attempts=5, initial=1000.0, maximum=1000.0, max_time=1e6))

    with anyio.fail_after(5):
        response = await get(crm)

    assert response.status == 200
    assert response.attempts == 3
    assert len(sleeps.waits) == 2
    assert all(0.0 <= wait <= 1000.0 for wait in sleeps.waits)
    assert response.replayed is (status >= 500)  # a 429 was not applied; a 5xx may have been


async def test_final_statuses_are_not_retried() -> None:
    script = Script(json_response(400, {"code": "INVALID_DATA", "details": {}, "message": "bad", "status": "error"}))
    crm, _, sleeps, _ = make(script)
    response = await get(crm)
    assert response.status == 400 and response.attempts == 1
    assert sleeps.waits == [] and len(script.api) == 1


async def test_exhausted_retries_return_the_last_response() -> None:
    script = Script(*[json_response(503, ERROR_500)] * 10)
    crm, _, _, _ = make(script)
    response = await get(crm)
    assert (response.status, response.attempts) == (503, 4)
    with pytest.raises(ServerError):
        raise_for_status(response)


async def test_retry_after_is_honoured() -> None:
    script = Script(
        json_response(429, ERROR_429, headers={"Retry-After": "7"}),
        json_response(503, ERROR_500, headers={"retry-after": "2.5"}),
        json_response(200, {}),
    )
    crm, _, sleeps, _ = make(script)
    await get(crm)
    assert sleeps.waits == [7.0, 2.5]


async def test_a_final_429_carries_retry_after() -> None:
    script = Script(*[json_response(429, ERROR_429, headers={"Retry-After": "3"})] * 2)
    crm, _, _, _ = make(script, retry=RetryPolicy.no_wait(attempts=2))
    response = await get(crm)
    with pytest.raises(RateLimitError) as info:
        raise_for_status(response)
    assert info.value.retry_after == 3.0


async def test_credits_header_resyncs_the_bucket() -> None:
    script = Script(json_response(200, {}, headers={"X-API-CREDITS-REMAINING": "1234"}))
    crm, _, _, events = make(script, budget=Budget(daily_credits=50_000))
    await get(crm)
    limiter = crm.limiter
    assert isinstance(limiter, LocalLimiter)
    assert limiter.credits_available == pytest.approx(1234, abs=1)
    assert crm.counters.credits_remaining == 1234
    assert [e.credits_remaining for e in events if e.kind == "credits"] == [1234]


async def test_a_429_shrinks_the_concurrency() -> None:
    script = Script(json_response(429, ERROR_429))
    crm, _, _, _ = make(script, budget=Budget(concurrency=20), retry=RetryPolicy.no_wait(attempts=1))
    await get(crm)
    assert crm.limiter.concurrency < 20


async def test_events_and_counters_of_a_run() -> None:
    script = Script(
        json_response(429, ERROR_429),
        json_response(500, ERROR_500),
        json_response(200, {}, headers={"X-API-CREDITS-REMAINING": "99"}),
    )
    crm, _, _, events = make(script, budget=Budget(costs={"emails.link": 2.0}))

    await crm.request("POST", "/Contacts/1/Emails/actions/link_record", operation="emails.link", content=b"{}")

    assert [e.kind for e in events] == [
        "token_refreshed",
        "request", "response", "throttled", "retry",
        "request", "response", "retry",
        "request", "response", "credits",
    ]
    assert [e.status for e in events if e.kind == "response"] == [429, 500, 200]
    assert [e.attempt for e in events if e.kind == "retry"] == [1, 2]
    request_event = next(e for e in events if e.kind == "request")
    assert request_event.method == "POST"
    assert request_event.path is not None and request_event.path.endswith("/Contacts/1/Emails/actions/link_record")
    c = crm.counters
    assert (c.requests, c.responses, c.retries, c.throttled, c.server_errors, c.token_refreshes) == (3, 3, 2, 1, 1, 1)
    assert c.credits_spent == 6.0  # 2 credits per try
    assert c.credits_remaining == 99


async def test_a_failing_subscriber_does_not_break_the_request(caplog: pytest.LogCaptureFixture) -> None:
    crm, _, _, _ = make(Script())

    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    crm.events.subscribe(broken)
    assert (await get(crm)).status == 200
    assert "an event subscriber failed" in caplog.text


async def test_unsubscribe() -> None:
    crm, _, _, _ = make(Script())
    seen: list[Event] = []
    unsubscribe = crm.events.subscribe(seen.append)
    await get(crm)
    count = len(seen)
    unsubscribe()
    await get(crm)
    assert len(seen) == count > 0


async def test_request_headers_and_url() -> None:
    script = Script()
    crm, _, _, _ = make(script)
    await crm.request("PUT", "/Contacts/ext1/Deals", operation="records.related", content=b"{}",
                      headers={"X-EXTERNAL": "Contacts.External_Contact_ID"}, params={"a": "b"})
    (request,) = script.api
    assert request.url == "https://www.zohoapis.com/crm/v8/Contacts/ext1/Deals"
    assert request.headers["Authorization"] == "Zoho-oauthtoken 1000.tok"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-EXTERNAL"] == "Contacts.External_Contact_ID"
    assert request.params == {"a": "b"}
    await get(crm)
    assert "Content-Type" not in script.api[1].headers


async def test_one_debug_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zcrm_async")
    crm, _, _, _ = make(Script(json_response(503, ERROR_500)))
    await get(crm)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("HTTP Request")]
    assert len(lines) == 2
    assert lines[0].startswith("HTTP Request: GET https://www.zohoapis.com/crm/v8/Contacts/1/Emails -> 503")


# -- lifecycle -----------------------------------------------------------------------------------------------


async def test_a_closed_client_refuses_requests() -> None:
    crm, _, _, _ = make(Script())
    async with crm:
        await get(crm)
    with pytest.raises(RuntimeError, match="closed"):
        await get(crm)
    with pytest.raises(RuntimeError, match="closed"):
        async with crm:
            pass  # pragma: no cover
    await crm.aclose()  # twice is fine


async def test_a_transport_passed_in_is_not_closed() -> None:
    crm, transport, _, _ = make(Script())
    async with crm:
        await get(crm)
    assert transport.closed is False


async def test_the_clients_own_transport_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Any] = []

    class Own(MockTransport):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(Script())
            made.append(self)

    monkeypatch.setattr(client_module, "AiohttpTransport", Own)
    async with ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r") as crm:
        await get(crm)
    (own,) = made
    assert own.closed is True


async def test_a_session_passed_in_is_not_closed() -> None:
    async with aiohttp.ClientSession() as session:
        crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", session=session)
        await crm.aclose()
        assert not session.closed


async def test_constructor_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="client_id, client_secret and refresh_token"):
        ZohoCRM(client_id="1000.id", client_secret="s")
    with pytest.raises(ValueError, match="client_secret is empty"):
        OAuthCredentials(client_id="a", client_secret="", refresh_token="r")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="not both"):
            ZohoCRM(client_id="a", client_secret="s", refresh_token="r", session=session,
                    transport=MockTransport(Script()))
    with pytest.raises(ValueError, match="unknown Zoho data centre"):
        ZohoCRM(client_id="a", client_secret="s", refresh_token="r", data_centre="mars")


async def test_repr_names_the_api_domain_only() -> None:
    crm, _, _, _ = make(Script(), api_domain="https://www.zohoapis.eu")
    assert repr(crm) == "<ZohoCRM api_domain='https://www.zohoapis.eu' version='v8'>"


async def test_a_subscriber_that_unsubscribes_itself_does_not_hide_events_from_the_next() -> None:
    crm, _, _, _ = make(Script())
    first: list[Event] = []
    after: list[Event] = []

    def once(event: Event) -> None:
        first.append(event)
        unsubscribe_once()

    unsubscribe_once = crm.events.subscribe(once)
    crm.events.subscribe(after.append)
    await get(crm)

    assert len(first) == 1
    assert [e.kind for e in after] == ["token_refreshed", "request", "response"]
