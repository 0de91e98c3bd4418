"""The org's calls in flight, counted in Redis for every process, under a limit that adapts to 429s.

A sorted set of holder ids scored by lease expiry (Redis server time, so the machines' clocks need not agree).
Taking a slot drops expired holders, then adds one if ``ZCARD < limit``; releasing removes it and pushes a wake
token for one waiting process (blocked in ``BLPOP``). A killed process stops renewing its leases, so its slots
come back ``lease_seconds`` later. Heavy calls also take a place in a second set (the sub-cap of 10).

The limit adapts like ``AdaptiveConcurrency`` (a 429 shrinks it, rounds of successes grow it back), and the
adaptive state lives in Redis: Zoho's cap is shared, so the 429 one process sees means the org as a whole went too
far, and every process must step back, not only the one that was unlucky.
"""

from __future__ import annotations

import logging

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .._config import Budget
from .._limits import Permit
from . import _lua
from ._keys import LimiterKeys, text
from ._outage import redis_outage

#: A child of the package's logger: an application can tell (and route) Redis's troubles apart.
logger = logging.getLogger("zcrm_async.redis")


class SharedSlots:
    """This process's view of the org's calls in flight: takes, releases and renews slots, carries feedback."""

    __slots__ = (
        "_acquire_script",
        "_budget",
        "_decrease",
        "_heavy_turn",
        "_keys",
        "_lease_ms",
        "_poll_interval",
        "_probe_after_ms",
        "_redis",
        "_release_script",
        "_renew_script",
        "_slot_turn",
        "_successes",
        "_throttles",
        "limit",
        "live",
    )

    def __init__(
        self,
        redis: aioredis.Redis,
        budget: Budget,
        keys: LimiterKeys,
        *,
        lease_ms: int,
        poll_interval: float,
        decrease: float,
        probe_after_ms: int,
    ) -> None:
        self._redis = redis
        self._budget = budget
        self._keys = keys
        self._lease_ms = lease_ms
        self._poll_interval = poll_interval
        self._decrease = decrease
        self._probe_after_ms = probe_after_ms
        # Registered scripts run by EVALSHA, and are re-sent after a SCRIPT FLUSH.
        self._acquire_script = redis.register_script(_lua.ACQUIRE)
        self._release_script = redis.register_script(_lua.RELEASE)
        self._renew_script = redis.register_script(_lua.RENEW)
        #: The shared limit as last read from Redis.
        self.limit = budget.concurrency
        #: This process's calls in flight: holder id -> heavy.
        self.live: dict[str, bool] = {}
        # Feedback from note() (which cannot await) waits here for the next script call to carry it.
        self._successes = 0
        self._throttles: dict[int, int] = {}
        # One task per process waits on Redis at a time, the others queue here in order (anyio locks are fair):
        # a single BLPOP connection per process, and no newcomer overtakes a task already waiting.
        self._slot_turn = anyio.Lock()
        self._heavy_turn = anyio.Lock()

    @property
    def has_feedback(self) -> bool:
        return bool(self._successes or self._throttles)

    async def acquire(self, holder: str, *, heavy: bool) -> Permit:
        """Wait for a place among the org's calls in flight (and the heavy sub-cap), and take it for ``holder``.

        Not shielded: a caller's deadline or cancellation ends the wait even while Redis is paused. A slot the
        script may have taken for a caller that stopped listening is given back by ``RedisLimiter.slot``.

        Raises:
            RedisUnavailable: Redis failed or could not be reached.
        """
        with redis_outage("taking a slot among the calls in flight"):
            return await self._acquire(holder, heavy=heavy)

    async def _acquire(self, holder: str, *, heavy: bool) -> Permit:
        turn = self._heavy_turn if heavy else self._slot_turn
        if not turn.locked():
            permit = await self._acquire_once(holder, heavy=heavy)
            if permit is not None:
                return permit
        async with turn:
            while True:
                permit = await self._acquire_once(holder, heavy=heavy)
                if permit is not None:
                    return permit
                # Woken by the next release anywhere; the timeout catches leases that expire (they send nothing).
                await self._redis.blpop([self._keys.wake], timeout=self._poll_interval)

    async def _acquire_once(self, holder: str, *, heavy: bool) -> Permit | None:
        admitted, generation, in_flight = await self.look(holder, heavy=heavy)
        return Permit(generation, in_flight) if admitted else None

    async def look(self, holder: str, *, heavy: bool) -> tuple[bool, int, int]:
        """One script call: carry pending feedback, and take a slot if ``holder`` is given and there is room.

        Returns whether it took one, the limit's generation, and the calls in flight (this one included).
        """
        successes, self._successes = self._successes, 0
        throttles, self._throttles = self._throttles, {}
        args: list[str | int | float] = [
            holder,
            self._lease_ms,
            self._budget.concurrency,
            self._budget.heavy_concurrency if heavy else 0,
            self._decrease,
            self._probe_after_ms,
            successes,
        ]
        for generation, in_flight in throttles.items():
            args += [generation, in_flight]
        keys = [self._keys.holders, self._keys.adaptive, self._keys.heavy]
        admitted, limit, generation, in_flight = await self._acquire_script(keys=keys, args=args)
        self.limit = int(limit)
        return bool(admitted), int(generation), int(in_flight)

    async def release(self, holder: str) -> None:
        """Give back ``holder``'s slot (a no-op if it holds none); within 5 s, else its lease frees it.

        Shielded from the caller's cancellation for those 5 s: the script either runs and answers on its
        connection, or the deadline drops that connection (a paused Redis), never half of each.
        """
        keys = [self._keys.holders, self._keys.heavy, self._keys.wake]
        with anyio.move_on_after(5.0, shield=True) as scope:
            try:
                await self._release_script(keys=keys, args=[holder, self._budget.concurrency])
                return
            except (RedisError, OSError) as exc:
                reason = type(exc).__name__
        if scope.cancelled_caught:
            reason = "timeout"
        # Not raised: the request's own outcome matters more, and the lease frees the slot anyway.
        logger.warning("could not release a slot in Redis (%s); it comes back when its lease expires", reason)

    async def renew(self) -> None:
        """Push back the lease of this process's calls in flight."""
        if not self.live:
            return
        args: list[str | int] = [self._lease_ms]
        for holder, heavy in list(self.live.items()):
            args += [holder, "1" if heavy else "0"]
        lapsed = await self._renew_script(keys=[self._keys.holders, self._keys.heavy], args=args)
        # Holders released while the script ran are gone from live: only the others really lapsed.
        still_running = [holder for holder in map(text, lapsed) if holder in self.live]
        if still_running:
            logger.warning(
                "%d call(s) outlived their slot lease (was this process paused?); the cap may be exceeded "
                "until they end",
                len(still_running),
            )

    def note(self, permit: Permit, *, throttled: bool) -> None:
        """Keep a response's verdict on the limit for the next script call."""
        if throttled:
            # The highest level refused in a generation is the one that can show the window was too full.
            known = self._throttles.get(permit.generation, permit.in_flight_at_start)
            self._throttles[permit.generation] = max(known, permit.in_flight_at_start)
        else:
            self._successes += 1
