"""FakeZoho's settings (FakeConfig, fixed for its life) and the counters it keeps (FakeStats)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Awaitable, Callable


@dataclasses.dataclass(frozen=True, kw_only=True)
class FakeConfig:
    """Everything FakeZoho can be told, fixed for its life (faults can change later via set_faults)."""

    api_version: str = "v8"
    latency: float = 0.0
    concurrency_cap: int = 20
    heavy_cap: int = 10
    daily_credits: int = 1_000_000
    token_ttl: float = 3600.0
    token_refresh_limit: int = 10
    max_active_tokens: int = 15
    error_rate: float = 0.0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    burst_429: int = 0
    seed: int = 0
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    refresh_token: str = "fake-refresh-token"
    #: Clock for token expiry, the refresh window, credits and page tokens (inject a fake one in tests).
    clock: Callable[[], float] = time.monotonic
    #: How latency is waited (inject a gate to hold requests in flight without real sleeps).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class FakeStats:
    """Counters a test or benchmark reads after the fact."""

    __slots__ = (
        "credits_used",
        "dropped",
        "errors_500",
        "lost_responses",
        "max_in_flight",
        "requests",
        "responses",
        "throttled_429",
        "token_refreshes",
        "tokens_issued",
    )

    def __init__(self) -> None:
        #: Requests by endpoint name ("get_emails", "link_emails", "token", ...).
        self.requests: collections.Counter[str] = collections.Counter()
        #: Responses actually sent, by HTTP status.
        self.responses: collections.Counter[int] = collections.Counter()
        self.throttled_429 = 0
        self.max_in_flight = 0
        self.token_refreshes = 0  #: token-endpoint calls
        self.tokens_issued = 0
        self.credits_used = 0
        self.dropped = 0  #: drop_rate faults (no state change)
        self.lost_responses = 0  #: lost_response_rate faults (state changed, response lost)
        self.errors_500 = 0

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FakeStats({fields})"
