"""``crm.counters`` say what went over the wire: a real run through the real transport against FakeZoho, with
every fault the fake has (500s, dropped requests, lost answers, 429s, an expired token), reports exactly the
requests, answers, statuses, credits and token refreshes the fake received and sent."""

from __future__ import annotations

import pytest

from tests.fakes import fake_and_client, links_for
from zcrm_async import Counters, Event
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


def api_requests(fake: FakeZoho) -> int:
    return sum(fake.stats.requests.values()) - fake.stats.requests["token"]


def api_responses(fake: FakeZoho) -> int:
    # every token request is answered (the fake's faults are on the API only)
    return sum(fake.stats.responses.values()) - fake.stats.requests["token"]


async def test_the_counters_of_a_faulty_run_match_what_the_fake_received() -> None:
    async with fake_and_client(FakeConfig(seed=11)) as (fake, crm):
        events: list[Event] = []
        crm.events.subscribe(events.append)
        items = links_for(fake, contacts=30, emails_each=4)
        fake.set_faults(error_rate=0.15, drop_rate=0.1, lost_response_rate=0.2)
        result = await crm.emails.link_deal(items, already_linked_ok=True)
        assert result.ok  # every link made, read back where an answer was lost
        fake.set_faults(error_rate=0.0, drop_rate=0.0, lost_response_rate=0.0, burst_429=3)
        assert await crm.records.count("Contacts") == 30  # three 429s, then the answer
        fake.expire_tokens()
        assert await crm.records.count("Contacts") == 30  # 401 INVALID_TOKEN, one refresh, one replay
        spent_before = fake.credits_used
        fake.set_daily_credits(2 * spent_before)  # from here on answers carry X-API-CREDITS-REMAINING
        assert await crm.records.count("Contacts") == 30

        c, stats = crm.counters, fake.stats
        # the run exercised every fault, or the comparisons below would prove little
        assert stats.errors_500 and stats.dropped and stats.lost_responses and stats.throttled_429 == 3
        assert stats.responses[401] == 1 and stats.token_refreshes == 2
        assert c.requests == api_requests(fake)
        assert c.responses == api_responses(fake)
        assert c.transport_errors == stats.dropped + stats.lost_responses
        assert c.server_errors == sum(n for status, n in stats.responses.items() if status >= 500)
        assert c.throttled == stats.responses[429] == stats.throttled_429
        assert c.token_refreshes == stats.token_refreshes == crm.token_refreshes
        # every try that failed for its transport, a 5xx or a 429 was tried again (the 401 is a replay, not a retry)
        assert c.retries == c.transport_errors + c.server_errors + c.throttled
        # the client spends a call's credits before sending it; Zoho charges neither the calls it throttles (3)
        # nor the one it refused for its expired token
        assert c.credits_spent == fake.credits_used + 4 * crm.budget.cost_of("records.count")
        assert c.credits_remaining == 2 * spent_before - fake.credits_used
        assert c.in_flight == 0
        # the subscribers saw what the counters counted
        kinds = [event.kind for event in events]
        assert kinds.count("request") == c.requests and kinds.count("response") == c.responses
        assert kinds.count("retry") == c.retries and kinds.count("error") == c.transport_errors
        assert kinds.count("throttled") == c.throttled and kinds.count("token_refreshed") == c.token_refreshes


def test_each_method_moves_its_own_totals() -> None:
    c = Counters()
    c.sent(2.0)
    assert (c.requests, c.credits_spent, c.in_flight) == (1, 2.0, 1)
    c.returned()
    c.answered(503, None)
    c.answered(429, 40)
    c.answered(200, None)  # no header: the last figure Zoho sent stands
    c.unanswered()
    c.retried()
    c.refreshed()
    assert c == Counters(requests=1, responses=3, retries=1, throttled=1, server_errors=1, transport_errors=1,
                         token_refreshes=1, credits_spent=2.0, credits_remaining=40, in_flight=0)  # fmt: skip


async def test_a_request_is_timed_for_a_subscriber_and_for_the_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    # The send path skips its clock reads when nobody listens: a listener and the DEBUG line must still get them.
    async with fake_and_client(FakeConfig(seed=11)) as (_fake, crm):
        events: list[Event] = []
        unsubscribe = crm.events.subscribe(events.append)
        assert await crm.records.count("Contacts") >= 0
        answers = [event for event in events if event.kind == "response"]
        assert answers and all(event.elapsed is not None and event.elapsed >= 0 for event in answers)
        unsubscribe()
        with caplog.at_level("DEBUG", logger="zcrm_async"):
            assert await crm.records.count("Contacts") >= 0
        assert any(record.getMessage().startswith("HTTP Request: GET ") for record in caplog.records)
