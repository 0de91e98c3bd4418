"""A slot's release and the limiter's exit never cut a Redis command in two (sent, its answer unread).

Cut in two, the command's connection can only be dropped by redis-py (its socket closed without waiting, the
source of an unclosed-socket warning at the end of a test), and a release handed to the background could be
cancelled before it ran, leaving the slot taken until its lease ends. Both are read from the real
``redis-server``: how many connections it accepted, and the holders it keeps.
"""

from __future__ import annotations

import uuid

import anyio
import pytest
import redis

from zcrm_async import Budget
from zcrm_async.redis import RedisLimiter

CLIENT_ID = "1000.TEST"


def _limiter(port: int, org: str, **kwargs: float) -> RedisLimiter:
    return RedisLimiter.from_url(
        f"redis://127.0.0.1:{port}/0", Budget(concurrency=5), org=org, client_id=CLIENT_ID, poll_interval=0.05,
        **kwargs,
    )  # fmt: skip


def _connections_accepted(port: int) -> int:
    with redis.Redis(port=port) as client:
        return int(client.info("stats")["total_connections_received"])


def _holders(port: int, org: str) -> int:
    with redis.Redis(port=port) as client:
        return int(client.zcard(f"zcrm:{org}:{CLIENT_ID}:inflight"))


def test_a_caller_cancelled_in_its_slot_releases_it_on_the_same_connection(redis_port: int) -> None:
    """Before: the release's script was sent, the caller's cancellation came while its answer was awaited, and
    redis-py dropped the connection (the next command opened a new one). Now the release is shielded."""
    org = f"org-{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        async with _limiter(redis_port, org) as limiter:
            assert await limiter.in_flight() == 0  # the one connection this test's calls need, opened
            before = _connections_accepted(redis_port)
            for _ in range(5):
                with anyio.CancelScope() as scope:
                    async with limiter.slot(heavy=False):
                        scope.cancel()  # before: delivered at the release's first wait, its script already sent
            assert await limiter.in_flight() == 0
            # The one accepted meanwhile is this second read of the count's own.
            assert _connections_accepted(redis_port) - before == 1, "a release's connection was dropped"

    anyio.run(main)


def test_the_exit_finishes_a_release_handed_to_the_background(redis_port: int) -> None:
    """A caller cancelled while taking a slot (the script ran: the slot is taken for no one) hands the release to
    the limiter's task, and the exit comes right after: the release must still run, and whole (shielded), or the
    slot stays taken for its lease (30 s). The acquire itself stays cancellable (a paused Redis must not hold a
    caller past its deadline), so its own connection may be dropped: that is not counted here."""
    org = f"org-{uuid.uuid4().hex[:12]}"

    async def main() -> None:
        for _ in range(5):
            async with _limiter(redis_port, org) as limiter:
                with anyio.CancelScope() as scope:
                    scope.cancel()  # delivered while the acquire script's answer is awaited
                    async with limiter.slot(heavy=False):
                        pytest.fail("entered a slot in a cancelled scope")
                assert scope.cancelled_caught

    anyio.run(main)
    assert _holders(redis_port, org) == 0  # the lease is 30 s: only the releases can have freed them
