"""One org's budget and access token shared by every process that uses it, through Redis (the ``redis`` extra).

Zoho counts an org's calls in flight (per app) and credits (per 24 h) across every machine that calls it, so a
dozen workers each holding a ``LocalLimiter`` would together overrun both. Here the counts live in Redis and
every decision is one Lua script, which Redis runs atomically: no other command runs between a script's read and
its write, so two processes can never both take the last slot or the last credit.

- Calls in flight: a sorted set of holder ids scored by lease expiry (Redis server time, so the machines' clocks
  need not agree). Taking a slot drops expired holders, then adds one if ``ZCARD < limit``; releasing removes it
  and pushes a wake token for one waiting process (blocked in ``BLPOP``). A killed process stops renewing its
  leases, so its slots come back ``lease_seconds`` later. Heavy calls also take a place in a second set (the
  sub-cap of 10).
- The limit adapts like ``AdaptiveConcurrency`` (a 429 shrinks it, rounds of successes grow it back), and the
  adaptive state lives in Redis: Zoho's cap is shared, so the 429 one process sees means the org as a whole went
  too far, and every process must step back, not only the one that was unlucky.
- Credits: per-minute buckets over a rolling 24 h with a running total; ``X-API-CREDITS-REMAINING`` corrects it.
- ``RedisTokenStore``: the access token under a key that expires with it, a lock so N processes refresh once, and
  a shared count of refreshes against the token endpoint's 10 per 10 minutes.

Keys are ``<namespace>:{<org>}:...``: the braces are a Redis Cluster hash tag, so all of an org's keys sit in one
slot and one script may touch several of them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import anyio
import msgspec
import redis.asyncio as aioredis
from anyio.abc import TaskGroup
from redis.exceptions import LockError, RedisError

from ._auth import REFRESH_WINDOW, REFRESHES_PER_WINDOW, AccessToken
from ._config import Budget
from ._limits import Permit

__all__ = ["RedisLimiter", "RedisTokenStore"]

logger = logging.getLogger("zcrm_async")

# Every script reads the clock with TIME: one clock (the server's) for every machine. Redis 5+ replicates a
# script's effects, not the script, so a non-deterministic TIME is allowed before writes.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

#: Apply this process's feedback to the shared adaptive limit, then (if ARGV[1] names a holder) take a slot.
#: KEYS: holders, adaptive state, heavy holders. ARGV: holder ('' = feedback only), lease ms, maximum,
#: heavy limit (0 = not heavy), decrease, probe_after ms, successes, then (generation, in_flight) per 429.
#: Returns {admitted, limit, generation, in flight}.
_ACQUIRE = _NOW_MS + """
local maximum = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[2], 'limit', 'ceiling', 'generation', 'successes', 'throttled_at')
local limit = math.min(maximum, tonumber(s[1]) or maximum)
local ceiling = math.min(maximum, tonumber(s[2]) or maximum)
local generation = tonumber(s[3]) or 0
local successes = (tonumber(s[4]) or 0) + tonumber(ARGV[7])
local throttled_at = tonumber(s[5]) or 0
-- additive increase: one more slot per round of `limit` successes, past the last bad level only after a while
while successes >= limit do
  successes = successes - limit
  if limit >= ceiling and now - throttled_at >= tonumber(ARGV[6]) then
    ceiling = math.min(maximum, ceiling + 1)
  end
  limit = math.min(ceiling, limit + 1)
end
-- multiplicative decrease, once per generation: the 429s of one overshoot shrink the limit once
for i = 8, #ARGV, 2 do
  throttled_at = now
  -- only the call that filled the window shows the level to be too high (as in _limits.AdaptiveConcurrency)
  if tonumber(ARGV[i + 1]) >= limit then
    ceiling = math.max(1, math.min(ceiling, tonumber(ARGV[i + 1]) - 1))
  end
  if tonumber(ARGV[i]) == generation then
    generation = generation + 1
    successes = 0
    limit = math.max(1, math.min(ceiling, math.floor(limit * tonumber(ARGV[5]))))
  end
end
redis.call('HSET', KEYS[2], 'limit', limit, 'ceiling', ceiling, 'generation', generation,
           'successes', successes, 'throttled_at', throttled_at)
redis.call('PEXPIRE', KEYS[2], 172800000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local count = redis.call('ZCARD', KEYS[1])
if ARGV[1] == '' or count >= limit then
  return {0, limit, generation, count}
end
local heavy_limit = tonumber(ARGV[4])
local expiry = now + tonumber(ARGV[2])
if heavy_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= heavy_limit then
    return {0, limit, generation, count}
  end
  redis.call('ZADD', KEYS[3], expiry, ARGV[1])
end
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
return {1, limit, generation, count + 1}
"""

#: KEYS: holders, heavy holders, wake list. ARGV: holder, wake list length.
_RELEASE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], 1)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[3], 60000)
return removed
"""

#: Push back the expiry of this process's live holders. Only holders still in the set: a renewal racing a
#: release must not bring the released holder back. KEYS: holders, heavy holders. ARGV: lease ms, then
#: (holder, heavy '1'/'0') pairs. Returns the holders whose lease had already lapsed.
_RENEW = _NOW_MS + """
local expiry = now + tonumber(ARGV[1])
local lapsed = {}
for i = 2, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
    if ARGV[i + 1] == '1' then
      redis.call('ZADD', KEYS[2], 'XX', expiry, ARGV[i])
    end
  else
    table.insert(lapsed, ARGV[i])
  end
end
return lapsed
"""

#: Credits over a rolling 24 h: a hash of per-minute buckets plus 'total' and 'oldest' (the first minute still
#: counted), so each call costs O(1) amortised instead of summing 1,440 buckets. A minute's credits count until
#: the whole minute is 24 h old: never freed early. KEYS: the hash. ARGV: amount (0 = none), daily credits,
#: credits remaining per Zoho ('' = unknown). Returns {admitted, ms to wait, total} (numbers as strings).
_CREDITS = _NOW_MS + """
local key = KEYS[1]
local daily = tonumber(ARGV[2])
local minute = math.floor(now / 60000)
local cutoff = minute - 1440
local total = tonumber(redis.call('HGET', key, 'total')) or 0
local oldest = tonumber(redis.call('HGET', key, 'oldest')) or minute
if cutoff - oldest > 1441 then
  redis.call('DEL', key)
  total, oldest = 0, cutoff
end
while oldest < cutoff do
  local v = tonumber(redis.call('HGET', key, oldest))
  if v then
    total = total - v
    redis.call('HDEL', key, oldest)
  end
  oldest = oldest + 1
end
if ARGV[3] ~= '' then
  local diff = math.max(0, daily - tonumber(ARGV[3])) - total
  if diff > 0 then
    -- Zoho counted more (other apps, other clients): book it now, so it is freed last
    redis.call('HINCRBYFLOAT', key, minute, diff)
    total = total + diff
  else
    -- we counted more: forget the oldest first, so a wrong guess errs towards too few credits, never too many
    local excess = -diff
    while excess > 1e-9 and oldest <= minute do
      local v = tonumber(redis.call('HGET', key, oldest)) or 0
      if v > excess then
        redis.call('HSET', key, oldest, v - excess)
        total, excess = total - excess, 0
      else
        redis.call('HDEL', key, oldest)
        total, excess = total - v, excess - v
        if oldest == minute then break end
        oldest = oldest + 1
      end
    end
  end
  total = math.max(0, total)
end
local amount = tonumber(ARGV[1])
local admitted, wait = 0, 0
if amount > 0 then
  if total + amount <= daily + 1e-9 then
    redis.call('HINCRBYFLOAT', key, minute, amount)
    total = total + amount
    admitted = 1
  else
    -- wait until enough of the oldest minutes have left the window
    local need, m = total + amount - daily, oldest
    while need > 1e-9 and m <= minute do
      need = need - (tonumber(redis.call('HGET', key, m)) or 0)
      m = m + 1
    end
    wait = (m - 1 + 1441) * 60000 - now
  end
end
redis.call('HSET', key, 'total', total, 'oldest', oldest)
redis.call('PEXPIRE', key, 90000000)
return {admitted, tostring(wait), tostring(total)}
"""

#: Zoho's 10 refreshes per refresh token per 10 minutes, shared: a sorted set of refresh times.
#: KEYS: the set. ARGV: window ms, allowed, member. Returns ms to wait (0: reserved).
_RESERVE_REFRESH = _NOW_MS + """
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


def _prefix(namespace: str, org: str) -> str:
    for name, value in (("namespace", namespace), ("org", org)):
        if not value or "{" in value or "}" in value:
            raise ValueError(f"{name} must be a non-empty string without braces, got {value!r}")
    return f"{namespace}:{{{org}}}"


class RedisLimiter:
    """The budget of one org (and app) shared by every process that uses the same Redis and ``org``.

    Enter it (``async with limiter:``) before sending requests: the lease renewal of calls in flight runs in a
    task of its own, and structured concurrency needs a scope to run it in. Then hand it to ``ZohoCRM(limiter=)``.

    Args:
        redis: a ``redis.asyncio.Redis`` (not closed by the limiter); without ``socket_timeout`` below
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

    __slots__ = (
        "_budget",
        "_closed",
        "_credit_turn",
        "_decrease",
        "_heavy_turn",
        "_keys",
        "_lease_ms",
        "_limit",
        "_live",
        "_owns_redis",
        "_pending_remaining",
        "_poll_interval",
        "_probe_after_ms",
        "_redis",
        "_scripts",
        "_slot_turn",
        "_successes",
        "_task_group",
        "_throttles",
    )

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
        self._redis = redis
        self._budget = budget
        self._keys = _LimiterKeys(_prefix(namespace, org), client_id)
        self._lease_ms = int(lease_seconds * 1000)
        self._poll_interval = poll_interval
        self._decrease = decrease
        self._probe_after_ms = int(probe_after * 1000)
        self._scripts = _Scripts(redis)
        #: The shared limit as last read from Redis.
        self._limit = budget.concurrency
        #: This process's calls in flight: holder id -> heavy.
        self._live: dict[str, bool] = {}
        # Feedback from on_response (which cannot await) waits here for the next script call to carry it.
        self._successes = 0
        self._throttles: dict[int, int] = {}
        self._pending_remaining: int | None = None
        # One task per process waits on Redis at a time, the others queue here in order (anyio locks are fair):
        # a single BLPOP connection per process, and no newcomer overtakes a task already waiting.
        self._slot_turn = anyio.Lock()
        self._heavy_turn = anyio.Lock()
        self._credit_turn = anyio.Lock()
        self._task_group: TaskGroup | None = None
        self._owns_redis = False
        self._closed = False

    @classmethod
    def from_url(cls, url: str, budget: Budget, **kwargs: Any) -> RedisLimiter:
        """A limiter with its own connection to ``url`` (``redis://host:6379/0``), closed with the limiter."""
        limiter = cls(aioredis.Redis.from_url(url), budget, **kwargs)
        limiter._owns_redis = True
        return limiter

    def __repr__(self) -> str:
        return f"RedisLimiter(key={self._keys.app!r}, concurrency={self._limit})"

    @property
    def redis(self) -> aioredis.Redis:
        """The connection, e.g. to share with a ``RedisTokenStore``."""
        return self._redis

    @property
    def concurrency(self) -> int:
        """The shared limit on calls in flight, as this process last read it."""
        return self._limit

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
            await self._flush()
        if self._task_group is not None:
            return
        self._closed = True
        if self._owns_redis:
            await self._redis.aclose()

    async def _maintain(self) -> None:
        """Renew the leases of this process's calls in flight, and carry its feedback, every third of a lease."""
        while True:
            await anyio.sleep(self._lease_ms / 3000)
            try:
                await self._renew()
                await self._flush()
            except RedisError as exc:
                # A Redis hiccup must not end the renewals: the next round tries again within the lease.
                logger.warning("could not renew slot leases in Redis (%s); trying again", type(exc).__name__)

    async def _renew(self) -> None:
        if not self._live:
            return
        args: list[str | int] = [self._lease_ms]
        for holder, heavy in list(self._live.items()):
            args += [holder, "1" if heavy else "0"]
        lapsed = await self._scripts.renew(keys=[self._keys.holders, self._keys.heavy], args=args)
        # Holders released while the script ran are gone from _live: only the others really lapsed.
        still_running = [holder for holder in map(_text, lapsed) if holder in self._live]
        if still_running:
            logger.warning(
                "%d call(s) outlived their slot lease (was this process paused?); the cap may be exceeded "
                "until they end",
                len(still_running),
            )

    async def _flush(self) -> None:
        if self._successes or self._throttles:
            await self._look("", heavy=False)
        if self._pending_remaining is not None:
            await self._take_credits(0)

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
        permit = await self._acquire(holder, heavy=heavy)
        self._live[holder] = heavy
        try:
            yield permit
        finally:
            del self._live[holder]
            await self._release(holder)

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
        # Shielded: a slot taken in Redis by a call cancelled before hearing so would stay taken for a lease.
        with anyio.CancelScope(shield=True):
            admitted, generation, in_flight = await self._look(holder, heavy=heavy)
        return Permit(generation, in_flight) if admitted else None

    async def _look(self, holder: str, *, heavy: bool) -> tuple[bool, int, int]:
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
        admitted, limit, generation, in_flight = await self._scripts.acquire(keys=keys, args=args)
        self._limit = int(limit)
        return bool(admitted), int(generation), int(in_flight)

    async def _release(self, holder: str) -> None:
        keys = [self._keys.holders, self._keys.heavy, self._keys.wake]
        with anyio.move_on_after(5.0, shield=True) as scope:
            try:
                await self._scripts.release(keys=keys, args=[holder, self._budget.concurrency])
                return
            except (RedisError, OSError) as exc:
                reason = type(exc).__name__
        if scope.cancelled_caught:
            reason = "timeout"
        # Not raised: the request's own outcome matters more, and the lease frees the slot anyway.
        logger.warning("could not release a slot in Redis (%s); it comes back when its lease expires", reason)

    def on_response(self, permit: Permit, *, throttled: bool, credits_remaining: int | None) -> None:
        """Note what the server said; the next script call (or the renewal task) takes it to Redis."""
        if throttled and credits_remaining is not None and credits_remaining <= 0:
            pass  # out of credits, not of concurrency: the credits resync below makes calls wait
        elif throttled:
            # The highest level refused in a generation is the one that can show the window was too full.
            known = self._throttles.get(permit.generation, permit.in_flight_at_start)
            self._throttles[permit.generation] = max(known, permit.in_flight_at_start)
        else:
            self._successes += 1
        if credits_remaining is not None:
            self._pending_remaining = credits_remaining

    async def in_flight(self) -> int:
        """Calls in flight for this org and app across all processes (and send this process's feedback)."""
        _, _, count = await self._look("", heavy=False)
        return count

    # -- credits ---------------------------------------------------------------------------------------------

    async def acquire_credits(self, amount: float) -> None:
        """Wait until ``amount`` credits fit in the org's rolling 24 h, and spend them."""
        if not self._credit_turn.locked() and await self._take_credits(amount) is None:
            return
        async with self._credit_turn:
            while True:
                wait = await self._take_credits(amount)
                if wait is None:
                    return
                # Bounded: a resynchronisation from Zoho may free credits long before the window does.
                await anyio.sleep(min(wait, self._poll_interval))

    async def credits_used(self) -> float:
        """Credits the org spent in the last 24 h as Redis counts them (after this process's last resync)."""
        await self._take_credits(0)
        _, _, total = await self._scripts.credits(
            keys=[self._keys.credits], args=[0, self._budget.daily_credits, ""]
        )
        return float(total)

    async def _take_credits(self, amount: float) -> float | None:
        """Spend ``amount`` now, or say how many seconds until it might fit."""
        remaining, self._pending_remaining = self._pending_remaining, None
        admitted, wait_ms, _ = await self._scripts.credits(
            keys=[self._keys.credits],
            args=[amount, self._budget.daily_credits, "" if remaining is None else remaining],
        )
        if admitted or amount <= 0:
            return None
        return max(float(wait_ms) / 1000, 0.001)


def _text(value: bytes | str) -> str:
    # Replies are bytes, or str on a connection made with decode_responses=True.
    return value if isinstance(value, str) else value.decode()


class _LimiterKeys:
    __slots__ = ("adaptive", "app", "credits", "heavy", "holders", "wake")

    def __init__(self, prefix: str, client_id: str) -> None:
        #: Calls in flight are capped per org and app (FACTS.md 1.3); credits per org (1.1).
        self.app = f"{prefix}:{client_id}"
        self.holders = f"{self.app}:inflight"
        self.heavy = f"{self.app}:inflight:heavy"
        self.adaptive = f"{self.app}:limit"
        self.wake = f"{self.app}:wake"
        self.credits = f"{prefix}:credits"


class _Scripts:
    """The Lua scripts registered on one connection (``EVALSHA``, re-sent after a ``SCRIPT FLUSH``)."""

    __slots__ = ("acquire", "credits", "release", "renew")

    def __init__(self, redis: aioredis.Redis) -> None:
        self.acquire = redis.register_script(_ACQUIRE)
        self.release = redis.register_script(_RELEASE)
        self.renew = redis.register_script(_RENEW)
        self.credits = redis.register_script(_CREDITS)


_encode_token = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(AccessToken).decode


class RedisTokenStore:
    """The org's access token in Redis, so every process uses one token and one process refreshes it.

    Args:
        redis: a ``redis.asyncio.Redis`` (not closed by the store).
        org: the org's id, as given to ``RedisLimiter``.
        client_id: the OAuth client whose token this is.
        namespace: first part of every key.
        lock_timeout: how long the refresh lock lives if its holder dies; a refresh that takes longer (a
            throttled token endpoint) may let a second process refresh too.
    """

    __slots__ = ("_key", "_lock_key", "_lock_timeout", "_redis", "_refreshes_key", "_reserve")

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        org: str,
        client_id: str,
        namespace: str = "zcrm",
        lock_timeout: float = 60.0,
    ) -> None:
        if not client_id:
            raise ValueError("client_id is empty")
        base = f"{_prefix(namespace, org)}:{client_id}"
        self._redis = redis
        self._key = f"{base}:token"
        self._lock_key = f"{base}:token:lock"
        self._refreshes_key = f"{base}:token:refreshes"
        self._lock_timeout = lock_timeout
        self._reserve = redis.register_script(_RESERVE_REFRESH)

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self._key!r})"

    async def load(self) -> AccessToken | None:
        data = await self._redis.get(self._key)
        if data is None:
            return None
        try:
            return _decode_token(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            logger.warning("ignoring an unreadable token in Redis key %s", self._key)
            return None

    async def save(self, token: AccessToken) -> None:
        """Store ``token`` under a key that expires when it does (wall clock, like ``expires_at``)."""
        life_ms = int((token.expires_at - time.time()) * 1000)
        if life_ms <= 0:
            await self._redis.delete(self._key)
            return
        await self._redis.set(self._key, _encode_token(token), px=life_ms)

    @asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        """Held around a refresh, so that of N processes finding the token stale one asks Zoho for another."""
        lock = self._redis.lock(self._lock_key, timeout=self._lock_timeout, sleep=0.05, thread_local=False)
        await lock.acquire()  # waits as long as it takes; callers bound it with anyio.fail_after
        try:
            yield
        finally:
            await self._unlock(lock)

    async def _unlock(self, lock: aioredis.lock.Lock) -> None:
        with anyio.move_on_after(5.0, shield=True):
            try:
                await lock.release()
            except LockError:
                logger.warning("the token refresh lock expired before the refresh ended (lock_timeout too short?)")
            except (RedisError, OSError) as exc:
                logger.warning("could not release the token refresh lock (%s); it expires", type(exc).__name__)

    async def reserve_refresh(self) -> float:
        """Book one call to the token endpoint within Zoho's 10 per 10 minutes, shared by all processes.

        Returns 0.0 when booked; otherwise the seconds to wait before asking again (nothing was booked).
        """
        wait_ms = await self._reserve(
            keys=[self._refreshes_key],
            args=[int(REFRESH_WINDOW * 1000), REFRESHES_PER_WINDOW, uuid.uuid4().hex],
        )
        return float(wait_ms) / 1000

