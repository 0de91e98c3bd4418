"""The budget and token shared through Redis, against a real ``redis-server`` started for this module.

Every test uses its own org name, so the tests share the server but no keys.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
import redis
import redis.asyncio as aioredis

from zcrm_async import AccessToken, Budget, OAuthCredentials, Permit, ZohoCRM

# private on purpose: TokenManager and the Redis key of a refresh token, units of their own
from zcrm_async._auth import TokenManager
from zcrm_async.plumbing import Request, Response
from zcrm_async.redis import RedisLimiter, RedisTokenStore
from zcrm_async.redis._token_store import refresh_key
from zcrm_async.testing import MockTransport, json_response

HELPERS = Path(__file__).parent.parent / "redis_helpers.py"
CLIENT_ID = "1000.TEST"


def _url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def _org() -> str:
    return f"org-{uuid.uuid4().hex[:12]}"


def _limiter(port: int, org: str, budget: Budget, **kwargs: float) -> RedisLimiter:
    kwargs.setdefault("poll_interval", 0.05)
    return RedisLimiter.from_url(_url(port), budget, org=org, client_id=CLIENT_ID, **kwargs)


def _run(func: Callable[[], Awaitable[None]]) -> None:
    anyio.run(func)


def _spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPERS), *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


# -- calls in flight ---------------------------------------------------------------------------------------------


def test_semaphore_never_admits_more_than_the_cap(redis_port: int) -> None:
    budget = Budget(concurrency=5, heavy_concurrency=2)
    now = {"all": 0, "heavy": 0}
    peak = {"all": 0, "heavy": 0}

    async def call(limiter: RedisLimiter, heavy: bool) -> None:
        async with limiter.slot(heavy=heavy):
            kinds = ["all", "heavy"] if heavy else ["all"]
            for kind in kinds:
                now[kind] += 1
                peak[kind] = max(peak[kind], now[kind])
            await anyio.sleep(0.002)
            for kind in kinds:
                now[kind] -= 1

    async def main() -> None:
        async with _limiter(redis_port, _org(), budget) as limiter:

            async def worker(heavy: bool) -> None:
                for _ in range(8):
                    await call(limiter, heavy)

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    for i in range(30):
                        tg.start_soon(worker, i % 3 == 0)
            assert await limiter.in_flight() == 0

    _run(main)
    assert peak == {"all": 5, "heavy": 2}


def test_four_processes_share_one_cap(redis_port: int) -> None:
    org, cap = _org(), 3
    workers = [_spawn("hammer", redis_port, org, cap, 6, 12) for _ in range(4)]
    try:
        outputs = [worker.communicate(timeout=40)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert [worker.returncode for worker in workers] == [0] * 4
    assert outputs == ["done\n"] * 4
    with redis.Redis(port=redis_port) as client:
        peak = int(client.get(f"test:{org}:peak") or 0)
        assert int(client.get(f"test:{org}:now") or 0) == 0
    assert peak == cap  # reached, and never passed, by 24 tasks in 4 processes


def test_killed_worker_slots_come_back_after_the_lease(redis_port: int) -> None:
    org, cap, lease = _org(), 4, 1.0
    holder = _spawn("hold", redis_port, org, cap, lease)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"

        async def main() -> None:
            async with _limiter(redis_port, org, Budget(concurrency=cap), lease_seconds=lease) as limiter:
                with anyio.move_on_after(lease * 1.5):  # the worker renews its leases while it lives
                    async with limiter.slot(heavy=False):
                        pytest.fail("took a slot the live worker holds")
                holder.send_signal(signal.SIGKILL)
                holder.wait(timeout=10)
                started = time.monotonic()
                with anyio.fail_after(5):
                    async with contextlib.AsyncExitStack() as stack:
                        for _ in range(cap):
                            await stack.enter_async_context(limiter.slot(heavy=False))
                        assert await limiter.in_flight() == cap
                assert time.monotonic() - started < lease + 1.0

        _run(main)
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_slot_needs_the_limiter_entered(redis_port: int) -> None:
    async def main() -> None:
        limiter = _limiter(redis_port, _org(), Budget())
        try:
            with pytest.raises(RuntimeError, match="async with limiter"):
                async with limiter.slot(heavy=False):
                    pass
        finally:
            await limiter.aclose()

    _run(main)


def test_adaptive_limit_lowers_on_429_for_every_process_and_grows_back(redis_port: int) -> None:
    org, budget = _org(), Budget(concurrency=8)

    async def main() -> None:
        async with (
            _limiter(redis_port, org, budget, probe_after=0.0) as first,
            _limiter(redis_port, org, budget, probe_after=0.0) as second,
        ):
            permits: list[Permit] = []
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(8):
                    permits.append(await stack.enter_async_context(first.slot(heavy=False)))
            # Two 429s of the same overshoot shrink the limit once: min(8 - 1, floor(8 * 0.75)) = 6.
            first.on_response(permits[-1], throttled=True, credits_remaining=None)
            first.on_response(permits[-2], throttled=True, credits_remaining=None)
            await first.in_flight()
            assert first.concurrency == 6
            await second.in_flight()
            assert second.concurrency == 6  # the other process steps back too

            # A late 429 from the old generation does not shrink it again.
            second.on_response(permits[-1], throttled=True, credits_remaining=None)
            await second.in_flight()
            assert second.concurrency == 6

            async with contextlib.AsyncExitStack() as stack:
                for _ in range(6):
                    await stack.enter_async_context(second.slot(heavy=False))
                with anyio.move_on_after(0.3) as scope:
                    await stack.enter_async_context(first.slot(heavy=False))
                assert scope.cancelled_caught  # the seventh waits

            for _ in range(6 + 7):  # a round of 6 successes grows it to 7, a round of 7 to 8
                second.on_response(Permit(1, 1), throttled=False, credits_remaining=None)
            await second.in_flight()
            assert second.concurrency == 8

    _run(main)


# -- credits -----------------------------------------------------------------------------------------------------


def test_credits_admit_the_budget_then_wait_and_resync(redis_port: int) -> None:
    org, budget = _org(), Budget(daily_credits=50)

    async def main() -> None:
        one, other = _limiter(redis_port, org, budget), _limiter(redis_port, org, budget)
        try:
            with anyio.fail_after(10):
                for i in range(50):
                    await (one if i % 2 else other).acquire_credits(1)
            with anyio.move_on_after(0.3) as scope:
                await one.acquire_credits(1)
            assert scope.cancelled_caught
            assert await other.credits_used() == 50

            # Zoho says 10 remain: 10 more are admitted, the eleventh waits again.
            one.on_response(Permit(0, 1), throttled=False, credits_remaining=10)
            with anyio.fail_after(5):
                for _ in range(10):
                    await one.acquire_credits(1)
            with anyio.move_on_after(0.3) as scope:
                await other.acquire_credits(1)
            assert scope.cancelled_caught

            # Zoho counted more than we did (another app of the org): fewer remain.
            other.on_response(Permit(0, 1), throttled=False, credits_remaining=45)
            assert await other.credits_used() == 5
            await one.acquire_credits(44.5)
            assert await one.credits_used() == 49.5
        finally:
            await one.aclose()
            await other.aclose()

    _run(main)


# -- the token -----------------------------------------------------------------------------------------------------


def test_fifty_token_managers_refresh_once(redis_port: int) -> None:
    org = _org()
    managers_at_the_lock: set[int] = set()
    everyone_waits = anyio.Event()

    class CountingStore(RedisTokenStore):
        """Tells when every manager has come to the shared refresh lock (and waits there, or holds it)."""

        def refresh_lock(self) -> contextlib.AbstractAsyncContextManager[None]:
            managers_at_the_lock.add(id(self))
            if len(managers_at_the_lock) == 50:
                everyone_waits.set()
            return super().refresh_lock()

    async def token_endpoint(request: Request) -> Response:
        with anyio.fail_after(10):
            await everyone_waits.wait()  # the refresh answers once the other 49 queue behind it
        return json_response(
            200, {"access_token": "1000.fresh", "api_domain": "http://127.0.0.1:1", "expires_in": 3600}
        )

    async def main() -> None:
        transport = MockTransport(token_endpoint)
        credentials = OAuthCredentials(client_id=CLIENT_ID, client_secret="secret", refresh_token="refresh")
        client = aioredis.Redis.from_url(_url(redis_port))
        tokens: list[AccessToken] = []
        try:
            managers = [
                TokenManager(
                    credentials,
                    accounts_url="http://127.0.0.1:1",
                    transport=transport,
                    store=CountingStore(client, org=org, client_id=CLIENT_ID, refresh_token="refresh"),
                )
                for _ in range(50)
            ]

            async def get(manager: TokenManager) -> None:
                tokens.append(await manager.get_token())

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    for manager in managers:
                        tg.start_soon(get, manager)
        finally:
            await client.aclose()
        assert len(transport.requests) == 1
        assert {token.value for token in tokens} == {"1000.fresh"}

    _run(main)


def test_stored_token_expires_with_it_and_never_prints(redis_port: int) -> None:
    org, value = _org(), "1000.d0-not-print-me"

    async def main() -> None:
        client = aioredis.Redis.from_url(_url(redis_port))
        try:
            store = RedisTokenStore(client, org=org, client_id=CLIENT_ID, refresh_token="refresh")
            assert await store.load() is None
            await store.save(AccessToken(value=value, expires_at=time.time() + 600, api_domain="https://x"))
            loaded = await store.load()
            assert loaded is not None and loaded.value == value
            for text in (repr(loaded), str(loaded), repr(store)):
                assert value not in text
            ttl = await client.pttl(f"zcrm:{{{org}}}:{CLIENT_ID}:{refresh_key('refresh')}:token")
            assert 590_000 < ttl <= 600_000
        finally:
            await client.aclose()

    _run(main)


def test_two_refresh_tokens_of_one_client_keep_their_tokens_and_counts_apart(redis_port: int) -> None:
    """Two orgs on one client (and one --org name): each refresh token has its own token and refresh count."""
    org = _org()

    async def main() -> None:
        client = aioredis.Redis.from_url(_url(redis_port))
        try:
            first, second = (RedisTokenStore(client, org=org, client_id=CLIENT_ID, refresh_token=refresh)
                             for refresh in ("1000.refresh-one", "1000.refresh-two"))  # fmt: skip
            await first.save(AccessToken(value="1000.one", expires_at=time.time() + 600))
            await second.save(AccessToken(value="1000.two", expires_at=time.time() + 600))
            loaded = await first.load(), await second.load()
            assert [token.value if token else None for token in loaded] == ["1000.one", "1000.two"]
            assert [await first.reserve_refresh() for _ in range(10)] == [0.0] * 10
            assert await second.reserve_refresh() == 0.0  # Zoho counts per refresh token
            keys = [key.decode() for key in await client.keys(f"zcrm:{{{org}}}:*")]
            assert not any("refresh-one" in key or "refresh-two" in key for key in keys)  # a hash, never the token
        finally:
            await client.aclose()

    _run(main)


def test_refresh_lock_is_released_on_error_and_refreshes_are_counted(redis_port: int) -> None:
    org = _org()

    async def main() -> None:
        client = aioredis.Redis.from_url(_url(redis_port))
        try:
            store = RedisTokenStore(client, org=org, client_id=CLIENT_ID, refresh_token="refresh")
            with pytest.raises(KeyError):
                async with store.refresh_lock():
                    raise KeyError("refresh failed")
            with anyio.fail_after(1):
                async with store.refresh_lock():
                    pass
            waits = [await store.reserve_refresh() for _ in range(11)]
            assert waits[:10] == [0.0] * 10
            assert 590 < waits[10] <= 600  # Zoho's 10 per 10 minutes, for every process together
        finally:
            await client.aclose()

    _run(main)


def test_a_long_call_keeps_its_slot_past_the_lease(redis_port: int) -> None:
    org, budget = _org(), Budget(concurrency=1)

    async def main() -> None:
        async with (
            _limiter(redis_port, org, budget, lease_seconds=0.6) as long,
            _limiter(redis_port, org, budget, lease_seconds=0.6) as other,
        ):
            async with long.slot(heavy=False):
                with anyio.move_on_after(2.0) as scope:  # over three leases: renewed, never lost
                    async with other.slot(heavy=False):
                        pytest.fail("took the slot of a call still running")
                assert scope.cancelled_caught
            with anyio.fail_after(1):
                async with other.slot(heavy=False):
                    pass

    _run(main)


def test_zoho_client_sends_through_the_shared_budget(redis_port: int) -> None:
    org = _org()
    budget = Budget(concurrency=4, daily_credits=1_000)

    def zoho(request: Request) -> Response:
        if request.url.endswith("/oauth/v2/token"):
            return json_response(
                200, {"access_token": "1000.t", "api_domain": "http://127.0.0.1:1", "expires_in": 3600}
            )
        return json_response(200, {"data": []}, headers={"X-API-CREDITS-REMAINING": "900"})

    async def main() -> None:
        async with _limiter(redis_port, org, budget) as limiter:
            crm = ZohoCRM(
                client_id=CLIENT_ID,
                client_secret="secret",
                refresh_token="refresh",
                limiter=limiter,
                token_store=RedisTokenStore(limiter.redis, org=org, client_id=CLIENT_ID, refresh_token="refresh"),
                transport=MockTransport(zoho),
            )

            async def list_emails() -> None:
                response = await crm.request("GET", "/Contacts/1/Emails", operation="emails.list")
                assert response.status == 200

            async with crm, anyio.create_task_group() as tg:
                for _ in range(12):
                    tg.start_soon(list_emails)
            # The client closed, the limiter it was given lives on until its own `async with` ends.
            assert await limiter.in_flight() == 0
            assert await limiter.credits_used() == 100  # resynchronised from the header

    _run(main)
