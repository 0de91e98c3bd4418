"""Redis paused or killed mid-run (a real redis-server of the test's own): deadlines and cancellation are
honoured, an outage is one clear ``RedisUnavailable`` (a ``TransportError``), a bulk call reports it per item,
and a rerun once Redis is back finishes the work (issue 13, point 7)."""

from __future__ import annotations

import anyio
import pytest

from tests.conftest import OwnRedis
from tests.fakes import links_for
from zcrm_async import Budget, RedisUnavailable, RetryPolicy, TransportError, ZohoCRM
from zcrm_async.plumbing import Request, Response
from zcrm_async.redis import RedisLimiter, RedisTokenStore
from zcrm_async.testing import FakeConfig, FakeZoho, MockTransport, json_response

pytestmark = pytest.mark.anyio


def limiter_for(url: str, budget: Budget, **options: float) -> RedisLimiter:
    return RedisLimiter.from_url(url, budget, org="acme", client_id="1000.CLIENT", poll_interval=0.05, **options)


async def test_a_paused_redis_does_not_hold_a_caller_past_its_deadline(own_redis: OwnRedis) -> None:
    budget = Budget(concurrency=2)
    async with limiter_for(own_redis.url, budget, lease_seconds=2.0) as limiter:
        resumed = anyio.Event()

        async def resume_later() -> None:
            await anyio.sleep(15)  # only if the deadline is ignored: the test must end either way
            own_redis.resume()
            resumed.set()

        own_redis.pause()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(resume_later)
                with pytest.raises(TimeoutError):
                    with anyio.fail_after(0.5):
                        async with limiter.slot(heavy=False):
                            pass
                assert not resumed.is_set()  # the deadline ended the wait while Redis was still paused
                tg.cancel_scope.cancel()
        finally:
            own_redis.resume()
        # A slot the script may have taken for the caller that left is given back (or its lease ends): none stays.
        for _ in range(100):  # bounded: a lease of 2 s ends well within 10 s
            if await limiter.in_flight() == 0:
                break
            await anyio.sleep(0.1)
        assert await limiter.in_flight() == 0


async def test_a_limit_on_each_redis_command_turns_a_paused_redis_into_an_outage(own_redis: OwnRedis) -> None:
    async with limiter_for(own_redis.url, Budget(concurrency=2), timeout=0.5) as limiter:
        own_redis.pause()
        try:
            with anyio.fail_after(15):  # safety only: the limit ends the wait well before
                with pytest.raises(RedisUnavailable, match=r"taking a slot.*TimeoutError"):
                    async with limiter.slot(heavy=False):
                        pass
        finally:
            own_redis.resume()


def test_a_socket_timeout_within_the_slot_wait_is_refused() -> None:
    with pytest.raises(ValueError, match="must exceed poll_interval"):
        RedisLimiter.from_url("redis://127.0.0.1:1/0", Budget(), org="acme", client_id="1000.X", timeout=0.5)


async def test_redis_failing_before_a_retry_does_not_say_nothing_was_sent(own_redis: OwnRedis) -> None:
    def answer(request: Request) -> Response:
        if "/oauth/" in request.url:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600,
                                       "api_domain": "https://www.zohoapis.com"})  # fmt: skip
        own_redis.kill()  # the first try went out and got no answer; Redis dies before the retry takes a slot
        raise TransportError("connection reset")

    async with limiter_for(own_redis.url, Budget(concurrency=2)) as limiter:
        crm = ZohoCRM(
            client_id="1000.CLIENT", client_secret="s3cret", refresh_token="1000.refresh", limiter=limiter,
            transport=MockTransport(answer), retry=RetryPolicy.no_wait(attempts=3),
        )  # fmt: skip
        async with crm:
            with pytest.raises(TransportError, match="may have been applied") as caught:
                await crm.request("POST", "/Contacts/1/Emails/actions/link_record", operation="emails.link",
                                  content=b"{}")  # fmt: skip
    # A lost response: a runner reads the email back before sending it again, instead of resending it blind.
    assert not isinstance(caught.value, RedisUnavailable)
    assert "Redis failed while" in str(caught.value)


async def test_a_dead_redis_is_one_clear_error_not_a_redis_exception(own_redis: OwnRedis) -> None:
    async with limiter_for(own_redis.url, Budget(concurrency=2)) as limiter:
        own_redis.kill()
        with pytest.raises(RedisUnavailable, match="Redis failed while counting credits") as caught:
            await limiter.acquire_credits(1)
        assert isinstance(caught.value, TransportError)
        with pytest.raises(RedisUnavailable, match="taking a slot"):
            async with limiter.slot(heavy=False):
                pass
        store = RedisTokenStore(limiter.redis, org="acme", client_id="1000.CLIENT", refresh_token="1000.refresh")
        with pytest.raises(RedisUnavailable, match="shared access token"):
            await store.load()


async def test_redis_killed_mid_bulk_fails_items_one_by_one_and_a_rerun_finishes(own_redis: OwnRedis) -> None:
    config = FakeConfig(seed=41, concurrency_cap=4)
    budget = Budget(concurrency=4)
    async with FakeZoho(config) as fake:
        links = links_for(fake, contacts=40, emails_each=5)

        def client(limiter: RedisLimiter) -> ZohoCRM:
            return ZohoCRM(
                client_id=config.client_id, client_secret=config.client_secret, refresh_token=config.refresh_token,
                api_domain=fake.url, accounts_url=fake.url, budget=budget, limiter=limiter,
                retry=RetryPolicy(initial=0.001, maximum=0.01),
            )  # fmt: skip

        done = 0

        def kill_after_a_few(results: object) -> None:
            nonlocal done
            done += 1
            if done == 5:
                own_redis.kill()

        async with limiter_for(own_redis.url, budget) as limiter, client(limiter) as crm:
            first = await crm.emails.link_deal(links, on_progress=kill_after_a_few, concurrency=2)

        assert len(first) == 200 and 0 < len(first.failed) < 200
        assert {r.code for r in first.failed} == {"TRANSPORT_ERROR"}
        assert all("Redis failed while" in r.message for r in first.failed)
        # Told apart from a lost response (which might have been applied): a runner may stop and resend these.
        assert all(r.details == {"cause": "RedisUnavailable"} for r in first.failed)
        assert all(fake.link_of(r.item.message_id) == r.item.deal_id for r in first.succeeded)
        assert all(fake.link_of(r.item.message_id) is None for r in first.failed)  # nothing was sent for them

        own_redis.start()  # Redis is back (empty): the rerun takes the failed items
        rest = [r.item for r in first.failed]
        async with limiter_for(own_redis.url, budget) as limiter, client(limiter) as crm:
            second = await crm.emails.link_deal(rest, already_linked_ok=True)
        assert second.ok, second.counts
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)
