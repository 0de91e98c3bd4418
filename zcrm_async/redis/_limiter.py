"""``RedisLimiter``: the limiter ``ZohoCRM`` talks to, its lifecycle, and the task that keeps leases alive.

The counting itself is elsewhere: calls in flight in ``_slots``, credits in ``_credits``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import anyio
import redis.asyncio as aioredis
from anyio.abc import TaskGroup
from redis.exceptions import RedisError

from .._config import Budget
from .._limits import Permit
from ._credits import SharedCredits
from ._keys import LimiterKeys, org_prefix
from ._outage import redis_outage
from ._slots import SharedSlots

#: A child of the package's logger: an application can tell (and route) Redis's troubles apart.
logger = logging.getLogger("zcrm_async.redis")


class RedisLimiter:
    """The budget of one org (and app) shared by every process that uses the same Redis and ``org``.

    Enter it (``async with limiter:``) before sending requests: the lease renewal of calls in flight runs in a
    task of its own, and structured concurrency needs a scope to run it in. Then hand it to ``ZohoCRM(limiter=)``.

    Args:
        redis: a ``redis.asyncio.Redis`` (not closed by the limiter); its ``socket_timeout``, if any, must exceed
            ``poll_interval``, since waiting uses ``BLPOP``.
        budget: the org's limits; every process should pass the same.
        org: the org's id (or any name shared by the processes of one org).
        client_id: the OAuth client, since Zoho caps calls in flight per org *and app*.
        namespace: first part of every key.
        lease_seconds: a slot's lease; renewed every third of it while its call runs, and what a killed
            process's slots take to come back.
        poll_interval: longest wait between two looks at Redis when no wake-up comes (an expired lease sends none).
        decrease: factor applied to the shared limit on a 429.
        probe_after: seconds without a 429 after which the limit may grow past the level that last failed.
    """

    __slots__ = ("_closed", "_credits", "_keys", "_lease_ms", "_owns_redis", "_redis", "_slots", "_task_group")

    def __init__(
        self,
        redis: aioredis.Redis,
        budget: Budget,
        *,
        org: str,
        client_id: str,
        namespace: str = "zcrm",
        lease_seconds: float = 30.0,
        poll_interval: float = 0.5,
        decrease: float = 0.75,
        probe_after: float = 30.0,
    ) -> None:
        if lease_seconds <= 0 or poll_interval <= 0:
            raise ValueError("lease_seconds and poll_interval must be positive")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1, e.g. 0.75")
        if not client_id:
            raise ValueError("client_id is empty")
        socket_timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
        if socket_timeout is not None and socket_timeout <= poll_interval:
            raise ValueError(
                f"the Redis client's socket_timeout ({socket_timeout} s) must exceed poll_interval "
                f"({poll_interval} s): a wait for a slot blocks in BLPOP that long"
            )
        self._redis = redis
        self._keys = LimiterKeys(org_prefix(namespace, org), client_id)
        self._lease_ms = int(lease_seconds * 1000)
        self._slots = SharedSlots(
            redis,
            budget,
            self._keys,
            lease_ms=self._lease_ms,
            poll_interval=poll_interval,
            decrease=decrease,
            probe_after_ms=int(probe_after * 1000),
        )
        self._credits = SharedCredits(redis, budget, self._keys.credits, poll_interval=poll_interval)
        self._task_group: TaskGroup | None = None
        self._owns_redis = False
        self._closed = False

    @classmethod
    def from_url(cls, url: str, budget: Budget, *, timeout: float | None = None, **kwargs: Any) -> RedisLimiter:
        """A limiter with its own connection to ``url`` (``redis://host:6379/0``), closed with the limiter.

        ``timeout``: seconds connecting or any one command may take before Redis counts as failed
        (``RedisUnavailable``); None (the default) waits as long as the caller's own deadline allows, so a paused
        Redis holds a caller without one for as long as it stays paused.
        """
        redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        limiter = cls(redis, budget, **kwargs)
        limiter._owns_redis = True
        return limiter

    def __repr__(self) -> str:
        return f"RedisLimiter(key={self._keys.app!r}, concurrency={self._slots.limit})"

    @property
    def redis(self) -> aioredis.Redis:
        """The connection, e.g. to share with a ``RedisTokenStore``."""
        return self._redis

    @property
    def concurrency(self) -> int:
        """The shared limit on calls in flight, as this process last read it."""
        return self._slots.limit

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._task_group is not None or self._closed:
            raise RuntimeError("this RedisLimiter is already entered or closed; create another")
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        task_group.start_soon(self._maintain)
        self._task_group = task_group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task_group, self._task_group = self._task_group, None
        try:
            if task_group is not None:
                # Cuts only the renewals' sleep: a renewal round and a release handed to the background are
                # shielded (each within 5 s), since a command cut in two leaves its answer unread on a pooled
                # connection (which redis-py can only drop) and a release cut before it ran keeps its slot a lease.
                task_group.cancel_scope.cancel()
                # None, not the body's exception: a task group would wrap it in an ExceptionGroup.
                await task_group.__aexit__(None, None, None)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Send pending feedback; close the connection if ``from_url`` made it. Safe to call twice.

        While the limiter is entered this only flushes: ``ZohoCRM.aclose`` calls it, and the ``async with`` that
        entered the limiter (perhaps for several clients) decides when it ends.
        """
        if self._closed:
            return
        with anyio.move_on_after(5.0, shield=True):
            try:
                await self._flush()
            except (RedisError, OSError) as exc:
                # Feedback only (successes, 429s, Zoho's credit count): losing it must not fail the caller's exit.
                logger.warning("could not send the last feedback to Redis (%s)", type(exc).__name__)
        if self._task_group is not None:
            return
        self._closed = True
        if self._owns_redis:
            # Shielded: a caller cancelled on its way out would otherwise leave the pool's sockets open.
            with anyio.move_on_after(5.0, shield=True):
                await self._redis.aclose()

    async def _maintain(self) -> None:
        """Renew the leases of this process's calls in flight, and carry its feedback, every third of a lease.

        Only the sleep between rounds is cancellable: the limiter's exit waits for a round in progress (within 5 s)
        rather than leave a command sent and its answer unread on a pooled connection.
        """
        while True:
            await anyio.sleep(self._lease_ms / 3000)
            with anyio.move_on_after(5.0, shield=True):
                await self._renew_round()

    async def _renew_round(self) -> None:
        try:
            await self._slots.renew()
            await self._flush()
        except (RedisError, OSError) as exc:
            # A Redis hiccup must not end the renewals: the next round tries again within the lease.
            logger.warning("could not renew slot leases in Redis (%s); trying again", type(exc).__name__)

    async def _flush(self) -> None:
        if self._slots.has_feedback:
            await self._slots.look("", heavy=False)
        if self._credits.has_feedback:
            await self._credits.take(0)

    # -- calls in flight -------------------------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self, *, heavy: bool) -> AsyncIterator[Permit]:
        """Hold a place among the org's calls in flight (and the heavy sub-cap) while the request runs."""
        if self._task_group is None:
            raise RuntimeError(
                "RedisLimiter renews its slot leases from a background task: enter it first "
                "(`async with limiter:`), then send requests"
            )
        holder = uuid.uuid4().hex
        try:
            permit = await self._slots.acquire(holder, heavy=heavy)
        except BaseException:
            # Cancelled (or failed) while the script may have run: give back a slot taken for no one, from the
            # background task, so the caller leaves now even if Redis is paused.
            self._release_later(holder)
            raise
        self._slots.live[holder] = heavy
        try:
            yield permit
        finally:
            del self._slots.live[holder]
            # Shielded within 5 s (a cancelled caller too): cut in two, the release would leave its connection
            # with an answer unread, which redis-py can only drop, and the slot taken until its lease ends.
            await self._slots.release(holder)

    def _release_later(self, holder: str) -> None:
        if self._task_group is not None:
            self._task_group.start_soon(self._slots.release, holder)

    def on_response(self, permit: Permit, *, throttled: bool, credits_remaining: int | None) -> None:
        """Note what the server said; the next script call (or the renewal task) takes it to Redis."""
        out_of_credits = throttled and credits_remaining is not None and credits_remaining <= 0
        # Out of credits is not out of concurrency: the credits resync makes calls wait, the limit stays.
        if not out_of_credits:
            self._slots.note(permit, throttled=throttled)
        if credits_remaining is not None:
            self._credits.note_remaining(credits_remaining)

    async def in_flight(self) -> int:
        """Calls in flight for this org and app across all processes (and send this process's feedback)."""
        with redis_outage("reading the calls in flight"):
            _, _, count = await self._slots.look("", heavy=False)
        return count

    # -- credits ---------------------------------------------------------------------------------------------

    async def acquire_credits(self, amount: float) -> None:
        """Wait until ``amount`` credits fit in the org's rolling 24 h, and spend them."""
        await self._credits.acquire(amount)

    async def credits_used(self) -> float:
        """Credits the org spent in the last 24 h as Redis counts them (after this process's last resync)."""
        with redis_outage("reading the credits used"):
            return await self._credits.used()
