"""FakeZoho's settings (FakeConfig, fixed for its life) and the counters it keeps (FakeStats)."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable

from ._fake_contract import Leniency

#: Where FakeConfig.null_share takes its default (a test suite can set it once for every fake it starts).
NULL_SHARE_ENV = "ZCRM_FAKE_NULL_SHARE"


def _null_share_default() -> float:
    return float(os.environ.get(NULL_SHARE_ENV) or 0.0)


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
    #: The scopes the configured refresh token carries. None (the default): token answers name no scope, as
    #: Zoho's token pages document them; a string: answers carry ``scope`` (space separated), as some of Zoho's
    #: token answers do. Grant codes carry the scopes they were generated with. A string is also what the tokens
    #: may do: Get Modules then needs ZohoCRM.settings.modules.READ (or .ALL, or ZohoCRM.settings.ALL) in it, as
    #: Zoho's OpenAPI file for Modules says, else it answers OAUTH_SCOPE_MISMATCH.
    scope: str | None = None
    #: Clock for token expiry, the refresh window, credits and page tokens (inject a fake one in tests).
    clock: Callable[[], float] = time.monotonic
    #: How latency is waited (inject a gate to hold requests in flight without real sleeps).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: Rules of Zoho's published contract to waive; all enforced by default, as Zoho enforces them.
    leniency: Leniency = dataclasses.field(default_factory=Leniency)
    #: Emails per Associate Email request. 1, the safe value: Zoho's OpenAPI example for it answers
    #: ``maximum_length: 1`` on ``$.Emails`` (its YAML schema says maxItems 50, its doc page nothing).
    associate_max_items: int = 1
    #: Share of seed_world's generated emails added as sparse ones, answered with every field Zoho's schema marks
    #: nullable null (info too). Default 0, or $ZCRM_FAKE_NULL_SHARE (this project's test suite sets it).
    null_share: float = dataclasses.field(default_factory=_null_share_default)
    #: Seconds (on ``clock``) a Bulk Read or Bulk Write job takes from ADDED to done: a third ADDED, then IN
    #: PROGRESS. 0: done at once (tests of what follows).
    bulk_job_seconds: float = 10.0
    #: Records per Bulk Read job (Zoho's: 200,000); lower it to page through ``more_records`` with less data.
    bulk_read_page_size: int = 200_000


class FakeStats:
    """Counters a test or benchmark reads after the fact."""

    __slots__ = (
        "credits_used",
        "dropped",
        "errors_500",
        "link_writes",
        "lost_responses",
        "max_in_flight",
        "record_writes",
        "requests",
        "responses",
        "throttled_429",
        "token_refreshes",
        "tokens_issued",
        "workflow_runs",
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
        #: Link Deal to Emails items applied (well-formed ones), by message id: a count above 1 is a resend.
        self.link_writes: collections.Counter[str] = collections.Counter()
        #: Records written by Insert, Update, Upsert and Delete Records, by record id: above 1 is a second write.
        self.record_writes: collections.Counter[str] = collections.Counter()
        #: Records written with their workflow rules run (``trigger`` omitted or naming workflow; ``wf_trigger``).
        self.workflow_runs = 0

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FakeStats({fields})"
