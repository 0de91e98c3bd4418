"""One org's budget and access token shared by every process that uses it, through Redis (the ``redis`` extra).

Zoho counts an org's calls in flight (per app) and credits (per 24 h) across every machine that calls it, so a
dozen workers each holding a ``LocalLimiter`` would together overrun both. Here the counts live in Redis and
every decision is one Lua script, which Redis runs atomically: no other command runs between a script's read and
its write, so two processes can never both take the last slot or the last credit.

- ``RedisLimiter`` (``_limiter``): what ``ZohoCRM(limiter=)`` talks to, and the task that renews leases.
- Calls in flight (``_slots``): a sorted set of holder ids scored by lease expiry, under a limit that adapts to
  429s for every process at once.
- Credits (``_credits``): per-minute buckets over a rolling 24 h with a running total; ``X-API-CREDITS-REMAINING``
  corrects it.
- ``RedisTokenStore`` (``_token_store``): the access token under a key that expires with it, a lock so N
  processes refresh once, and a shared count of refreshes against the token endpoint's 10 per 10 minutes.
- The Lua scripts (``_lua``) and the key layout (``_keys``: ``<namespace>:{<org>}:...``, one Redis Cluster slot
  per org).

The modules import the redis-py package as ``redis`` (absolute imports), never this package.
"""

from __future__ import annotations

from ._limiter import RedisLimiter
from ._token_store import RedisTokenStore

__all__ = ["RedisLimiter", "RedisTokenStore"]
