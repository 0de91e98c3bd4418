"""The client at its concurrency cap, through the real aiohttp transport against FakeZoho on 127.0.0.1: what
figure 2 of ``benchmarks/`` (3,000 Get Emails calls started at once, a server capped at 20) relies on.

Many more calls than the cap, started at once: every one succeeds, the server's cap is filled but never passed,
no 429 (or, told a cap above the server's, 429s that are retried and a limit that comes down to the server's),
one token refresh for all of them; cancelled with calls in flight and queued, nothing but the cancellation comes
out and the places are all given back; and the client's own code arms no timer per request (the hand-off's
yield is a done future, not a sleep).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import anyio
import pytest

import zcrm_async
from tests.fakes import fake_and_client
from zcrm_async import Budget, LocalLimiter, ZohoCRM
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

CAP = 20


def mailboxes(fake: FakeZoho, contacts: int = 10) -> list[str]:
    """Contacts with a few emails each: the records the calls read."""
    owner = fake.add_user("Patricia Boyle")
    ids = []
    for c in range(contacts):
        contact = fake.add_contact(name=f"Contact {c}", email=f"c{c}@example.net")
        for _ in range(3):
            fake.add_email(contact, owner, subject="hello")
        ids.append(contact)
    return ids


async def read_all_at_once(crm: ZohoCRM, ids: list[str], calls: int) -> list[int]:
    """``calls`` Get Emails of a Record started at once, as figure 2 starts them; the emails each page held."""
    counts = [-1] * calls

    async def read(i: int) -> None:
        page = await crm.emails.page("Contacts", ids[i % len(ids)])
        counts[i] = len(page.Emails)

    async with anyio.create_task_group() as tg:
        for i in range(calls):
            tg.start_soon(read, i)
    return counts


def local_limiter(crm: ZohoCRM) -> LocalLimiter:
    limiter = crm.limiter
    assert isinstance(limiter, LocalLimiter)  # the default: it counts the calls in flight
    return limiter


# -- at the cap, the server's cap the client's -------------------------------------------------------------------


async def test_calls_far_over_the_cap_fill_it_and_never_pass_it() -> None:
    config = FakeConfig(concurrency_cap=CAP, latency=0.01)
    async with fake_and_client(config, budget=Budget(concurrency=CAP)) as (fake, crm):
        ids = mailboxes(fake)
        with anyio.fail_after(60):
            counts = await read_all_at_once(crm, ids, calls=300)

        assert counts == [3] * 300  # every call succeeded, with its page
        stats = fake.stats
        assert stats.requests["get_emails"] == 300  # one request each: nothing was refused and sent again
        assert stats.max_in_flight == CAP  # the cap was filled, not under-used, and never passed
        assert stats.throttled_429 == 0 and stats.responses[429] == 0
        assert stats.responses[200] == 300 + 1  # and the token's
        assert crm.limiter.concurrency == CAP  # no 429, so nothing to adapt to
        assert local_limiter(crm).in_flight == 0
        # the first 20 calls wanted a token at once: one refresh served all 300
        assert crm.token_refreshes == 1
        assert stats.requests["token"] == stats.token_refreshes == 1
        assert crm.counters.throttled == crm.counters.retries == 0


async def test_a_client_told_more_than_the_server_allows_comes_down_to_it() -> None:
    config = FakeConfig(concurrency_cap=CAP, latency=0.01)
    async with fake_and_client(config, budget=Budget(concurrency=25)) as (fake, crm):
        ids = mailboxes(fake)
        with anyio.fail_after(60):
            counts = await read_all_at_once(crm, ids, calls=400)

        assert counts == [3] * 400  # every call ended in success, the refused ones by their retries
        stats = fake.stats
        assert stats.throttled_429 > 0  # the first 25 overshot the server's 20
        assert stats.max_in_flight == CAP
        assert stats.responses[200] == 400 + 1  # and the token's
        assert stats.requests["get_emails"] == 400 + stats.throttled_429  # each 429 tried again, once
        assert crm.counters.throttled == stats.throttled_429
        assert crm.limiter.concurrency <= CAP  # adapted to what the server takes
        assert local_limiter(crm).in_flight == 0
        assert crm.token_refreshes == stats.token_refreshes == 1


# -- cancelled at the cap ------------------------------------------------------------------------------------------


class HeldServer:
    """FakeZoho's latency as a gate: each call waits at the server until ``release``; ``full`` is set once
    ``cap`` calls are held there (the client's cap is filled and every later call queued at the client)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.held = 0
        self.full = anyio.Event()
        self.released = anyio.Event()

    async def sleep(self, _delay: float) -> None:
        self.held += 1
        if self.held >= self.cap:
            self.full.set()
        await self.released.wait()

    def release(self) -> None:
        self.released.set()


@contextmanager
def held_at_the_server() -> Iterator[tuple[HeldServer, FakeConfig]]:
    gate = HeldServer(CAP)
    try:
        yield gate, FakeConfig(concurrency_cap=CAP, latency=0.01, sleep=gate.sleep)
    finally:
        gate.release()  # the calls the client gave up on end at the server too, and the fake closes


async def a_call_after_the_cancel_succeeds(fake: FakeZoho, crm: ZohoCRM, ids: list[str], gate: HeldServer) -> None:
    gate.release()
    with anyio.fail_after(30):
        page = await crm.emails.page("Contacts", ids[0])
    assert len(page.Emails) == 3
    assert local_limiter(crm).in_flight == 0


async def test_a_task_group_cancelled_at_the_cap_ends_with_its_cancellation_alone() -> None:
    with held_at_the_server() as (gate, config):
        async with fake_and_client(config, budget=Budget(concurrency=CAP)) as (fake, crm):
            ids = mailboxes(fake)
            with anyio.fail_after(30):
                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as tg:
                        for i in range(200):
                            tg.start_soon(crm.emails.page, "Contacts", ids[i % len(ids)])
                        await gate.full.wait()
                        # 20 in flight, held at the server; the other 180 queued at the client
                        assert local_limiter(crm).in_flight == CAP
                        assert fake.stats.requests["get_emails"] == CAP
                        scope.cancel()
            # nothing but the cancellation came out of the task group (a ValueError of a queued call's clean-up
            # would have left it as an ExceptionGroup), and the scope caught it
            assert scope.cancelled_caught
            assert local_limiter(crm).in_flight == 0  # the 20 places given back; no cancelled call holds one
            assert fake.stats.requests["get_emails"] == CAP  # the queued calls were never sent
            await a_call_after_the_cancel_succeeds(fake, crm, ids, gate)


async def test_plain_asyncio_tasks_cancelled_at_the_cap_each_end_cancelled() -> None:
    with held_at_the_server() as (gate, config):
        async with fake_and_client(config, budget=Budget(concurrency=CAP)) as (fake, crm):
            ids = mailboxes(fake)
            with anyio.fail_after(30):
                tasks = [asyncio.ensure_future(crm.emails.page("Contacts", ids[i % len(ids)])) for i in range(200)]
                try:
                    await gate.full.wait()
                    assert local_limiter(crm).in_flight == CAP
                finally:
                    for task in tasks:  # the 20 in flight first, then the queued ones, all before any runs
                        task.cancel()
                outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            # each ends with its cancellation: none with a ValueError of the queue's clean-up, none with a page
            assert [type(outcome) for outcome in outcomes] == [asyncio.CancelledError] * 200
            assert local_limiter(crm).in_flight == 0
            await a_call_after_the_cancel_succeeds(fake, crm, ids, gate)


# -- no timer per request ------------------------------------------------------------------------------------------


def _folder(path: str) -> str:
    return os.path.join(os.path.realpath(path), "")


#: Code that arms timers for whoever calls it (``asyncio.sleep``, ``asyncio.timeout``, anyio's scopes): the timer
#: is its caller's. The standard library but what is installed beside it (aiohttp's timers are aiohttp's).
_STDLIB = _folder(sysconfig.get_paths()["stdlib"])
_INSTALLED = tuple({_folder(sysconfig.get_paths()["purelib"]), _folder(sysconfig.get_paths()["platlib"])})
_ANYIO = _folder(os.path.dirname(anyio.__file__))
_PACKAGE = _folder(os.path.dirname(zcrm_async.__file__))
_FAKE = os.path.join(_PACKAGE, "testing", "")


def _passes_timers_through(path: str) -> bool:
    return path.startswith(_ANYIO) or (path.startswith(_STDLIB) and not path.startswith(_INSTALLED))


def _armed_by(frame: FrameType | None) -> str | None:
    """Where a timer was asked for: its first caller outside the standard library and anyio, as ``path:line``."""
    while frame is not None:
        path = os.path.realpath(frame.f_code.co_filename)
        if not _passes_timers_through(path):
            return f"{path}:{frame.f_lineno}"
        frame = frame.f_back
    return None


@contextmanager
def timers_armed_by_the_client() -> Iterator[list[str]]:
    """The timers (``loop.call_at``, which ``call_later`` and every sleep and timeout go through) that
    zcrm_async's own code arms while the block runs; FakeZoho's (``zcrm_async.testing``) and aiohttp's are not
    counted. Where each was armed from, as ``path:line``."""
    loop = asyncio.get_running_loop()
    call_at = loop.call_at
    armed: list[str] = []

    def counting_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        here = inspect.currentframe()
        where = _armed_by(here.f_back if here is not None else None)
        if where is not None and where.startswith(_PACKAGE) and not where.startswith(_FAKE):
            armed.append(where)
        return call_at(when, callback, *args, **kwargs)

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        yield armed
    finally:
        del loop.call_at  # the class's own again


async def test_the_client_arms_no_timer_of_its_own_per_request() -> None:
    config = FakeConfig(concurrency_cap=CAP, latency=0.005)
    async with fake_and_client(config, budget=Budget(concurrency=CAP)) as (fake, crm):
        ids = mailboxes(fake)
        await crm.authenticate()  # the token outside the count: what is counted is the calls' own path
        with anyio.fail_after(60), timers_armed_by_the_client() as armed:
            counts = await read_all_at_once(crm, ids, calls=100)
        assert counts == [3] * 100
        assert fake.stats.max_in_flight == CAP  # at the cap, calls queued and handed places on
        assert crm.counters.retries == 0  # a retry's backoff is a timer, and none was needed
        assert armed == []


async def test_the_timer_count_sees_the_timers_the_client_arms() -> None:
    # the count above could pass by seeing nothing: a 429's backoff, the client's own sleep, is counted
    async with fake_and_client(FakeConfig(burst_429=1)) as (fake, crm):
        ids = mailboxes(fake, contacts=1)
        await crm.authenticate()
        with anyio.fail_after(30), timers_armed_by_the_client() as armed:
            await crm.emails.page("Contacts", ids[0])  # 429, a backoff, then the page
            await anyio.sleep(0.001)  # the test's own timer: not the client's
    assert crm.counters.retries == 1
    assert len(armed) == 1 and armed[0].startswith(os.path.join(_PACKAGE, "_client.py"))
