"""The org's access token in Redis: one token for every process, one refresh at a time, one shared refresh count."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import msgspec
import redis.asyncio as aioredis
from redis.exceptions import LockError, RedisError

from .._auth import REFRESH_WINDOW, REFRESHES_PER_WINDOW, AccessToken
from . import _lua
from ._keys import org_prefix
from ._outage import redis_outage

#: A child of the package's logger: an application can tell (and route) Redis's troubles apart.
logger = logging.getLogger("zcrm_async.redis")

_encode_token = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(AccessToken).decode


def refresh_key(refresh_token: str) -> str:
    """The part of a key that says which refresh token it is for: 16 hex digits of its SHA-256."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:16]


class RedisTokenStore:
    """The org's access token in Redis, so every process uses one token and one process refreshes it.

    Args:
        redis: a ``redis.asyncio.Redis`` (not closed by the store).
        org: the org's id, as given to ``RedisLimiter``.
        client_id: the OAuth client whose token this is.
        refresh_token: the refresh token the access tokens come from. Keys are per refresh token (by a hash, never
            the token): two orgs sharing one client (and an ``org`` name) keep their tokens, locks and refresh
            counts apart, and Zoho's 10 refreshes per 10 minutes are per refresh token.
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
        refresh_token: str,
        namespace: str = "zcrm",
        lock_timeout: float = 60.0,
    ) -> None:
        if not client_id:
            raise ValueError("client_id is empty")
        if not refresh_token:
            raise ValueError("refresh_token is empty")
        base = f"{org_prefix(namespace, org)}:{client_id}:{refresh_key(refresh_token)}"
        self._redis = redis
        self._key = f"{base}:token"
        self._lock_key = f"{base}:token:lock"
        self._refreshes_key = f"{base}:token:refreshes"
        self._lock_timeout = lock_timeout
        self._reserve = redis.register_script(_lua.RESERVE_REFRESH)

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self._key!r})"

    async def load(self) -> AccessToken | None:
        with redis_outage("reading the shared access token"):
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
        with redis_outage("storing the shared access token"):
            if life_ms <= 0:
                await self._redis.delete(self._key)
                return
            await self._redis.set(self._key, _encode_token(token), px=life_ms)

    @asynccontextmanager
    async def refresh_lock(self) -> AsyncIterator[None]:
        """Held around a refresh, so that of N processes finding the token stale one asks Zoho for another."""
        lock = self._redis.lock(self._lock_key, timeout=self._lock_timeout, sleep=0.05, thread_local=False)
        with redis_outage("taking the token refresh lock"):
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
        with redis_outage("counting token refreshes"):
            wait_ms = await self._reserve(
                keys=[self._refreshes_key],
                args=[int(REFRESH_WINDOW * 1000), REFRESHES_PER_WINDOW, uuid.uuid4().hex],
            )
        return float(wait_ms) / 1000

