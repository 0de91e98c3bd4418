"""The transport and limiter interfaces, for those who plug in their own.

``ZohoCRM(transport=...)`` takes any ``Transport`` (``AiohttpTransport`` is the default); ``ZohoCRM(limiter=...)``
any ``Limiter`` (``LocalLimiter`` is the default, ``zcrm_async.redis.RedisLimiter`` shares a budget between
processes). ``first_error`` is how the library turns a task group's failure into the one exception callers catch,
for those who run its calls in their own task groups. Most users never need this module.
"""

from __future__ import annotations

from ._fanout import first_error
from ._limits import Limiter, LocalLimiter, Permit
from ._transport import AiohttpTransport, Request, Response, Transport

__all__ = [
    "AiohttpTransport",
    "Limiter",
    "LocalLimiter",
    "Permit",
    "Request",
    "Response",
    "Transport",
    "first_error",
]
