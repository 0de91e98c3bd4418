"""Redis failing mid-run, as one clear error: ``RedisUnavailable`` (a ``TransportError``: the request was not
sent), never a raw redis-py ``ConnectionError`` escaping a bulk call or a traceback from the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from .._errors import RedisUnavailable

__all__ = ["redis_outage"]


@contextmanager
def redis_outage(what: str) -> Iterator[None]:
    """Raise ``RedisUnavailable`` naming ``what`` for any Redis or socket failure inside the block."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise RedisUnavailable(f"Redis failed while {what} ({type(exc).__name__}: {exc}); nothing was sent") from exc
