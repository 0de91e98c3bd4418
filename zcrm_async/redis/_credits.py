"""The org's credits over a rolling 24 h, counted in Redis for every process.

Per-minute buckets with a running total (see ``_lua.CREDITS``); Zoho's ``X-API-CREDITS-REMAINING`` corrects the
count, since other apps and clients spend the same org's credits.
"""

from __future__ import annotations

import anyio
import redis.asyncio as aioredis

from .._config import Budget
from . import _lua
from ._outage import redis_outage


class SharedCredits:
    """Spends the org's credits in Redis, waiting when a call would not fit in the rolling 24 h."""

    __slots__ = ("_budget", "_key", "_pending_remaining", "_poll_interval", "_script", "_turn")

    def __init__(self, redis: aioredis.Redis, budget: Budget, key: str, *, poll_interval: float) -> None:
        self._key = key
        self._budget = budget
        self._poll_interval = poll_interval
        self._script = redis.register_script(_lua.CREDITS)
        # Zoho's last word on the credits left, carried to Redis by the next script call.
        self._pending_remaining: int | None = None
        # Waiting processes queue here in order (anyio locks are fair): no newcomer overtakes a waiting task.
        self._turn = anyio.Lock()

    @property
    def has_feedback(self) -> bool:
        return self._pending_remaining is not None

    def note_remaining(self, remaining: int) -> None:
        self._pending_remaining = remaining

    async def acquire(self, amount: float) -> None:
        """Wait until ``amount`` credits fit in the org's rolling 24 h, and spend them.

        Raises:
            RedisUnavailable: Redis failed or could not be reached.
        """
        with redis_outage("counting credits"):
            await self._acquire(amount)

    async def _acquire(self, amount: float) -> None:
        if not self._turn.locked() and await self.take(amount) is None:
            return
        async with self._turn:
            while True:
                wait = await self.take(amount)
                if wait is None:
                    return
                # Bounded: a resynchronisation from Zoho may free credits long before the window does.
                await anyio.sleep(min(wait, self._poll_interval))

    async def used(self) -> float:
        """Credits the org spent in the last 24 h as Redis counts them (after this process's last resync)."""
        await self.take(0)
        _, _, total = await self._script(keys=[self._key], args=[0, self._budget.daily_credits, ""])
        return float(total)

    async def take(self, amount: float) -> float | None:
        """Spend ``amount`` now (0: only carry Zoho's count), or say how many seconds until it might fit."""
        remaining, self._pending_remaining = self._pending_remaining, None
        admitted, wait_ms, _ = await self._script(
            keys=[self._key],
            args=[amount, self._budget.daily_credits, "" if remaining is None else remaining],
        )
        if admitted or amount <= 0:
            return None
        return max(float(wait_ms) / 1000, 0.001)
