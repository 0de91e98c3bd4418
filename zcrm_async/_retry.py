"""Retries as data plus one pure decision: ``RetryPolicy.delay(...) -> seconds | None``.

What is retried: 429 (credits or concurrency), 5xx, and a request that got no response (connection refused,
reset or dropped, timeout). Every method is retried, POSTs included: the Emails writes are made safe to replay by
the bulk layer, which checks an ALREADY_LINKED or DUPLICATE_DATA that answers a retry (see ``_bulk.py``).
Backoff is exponential with full jitter; a Retry-After header, when a server sends one, wins, but never waits
less than the policy's base backoff (``initial``).
"""

from __future__ import annotations

import dataclasses
import math
import random

__all__ = ["RetryPolicy"]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Attributes:
        attempts: tries in all, the first included (1 disables retries).
        max_time: seconds of backoff one request may spend in all; past it the last error is raised.
        initial: the first backoff's upper bound, in seconds.
        maximum: the largest single backoff, in seconds.
        multiplier: growth of the upper bound per attempt.
        statuses: HTTP statuses worth another try.
    """

    attempts: int = 8
    max_time: float = 120.0
    initial: float = 0.25
    maximum: float = 20.0
    multiplier: float = 2.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial < 0 or self.maximum < 0 or self.max_time < 0:
            raise ValueError("delays must not be negative")

    @classmethod
    def no_wait(cls, attempts: int = 8) -> RetryPolicy:
        """Retry without sleeping: for tests, which should never wait for real."""
        return cls(attempts=attempts, initial=0.0, maximum=0.0)

    def should_retry(self, status: int | None) -> bool:
        """Whether an outcome (an HTTP status, or None for no response at all) is worth another try."""
        return status is None or status in self.statuses

    def delay(
        self,
        *,
        attempt: int,
        status: int | None,
        waited: float,
        retry_after: float | None = None,
        rand: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next try, or None to give up.

        Args:
            attempt: tries made so far (1 after the first).
            status: the HTTP status of the last try, or None when it got no response.
            waited: seconds already spent in backoff for this request.
            retry_after: the server's Retry-After, in seconds, if it sent one.
            rand: the random source (tests pass a seeded one).
        """
        if attempt >= self.attempts or not self.should_retry(status):
            return None
        if retry_after is not None:
            # Never below the base backoff: a server saying 0 (or -5, or nan) must not get a burst of retries.
            wait = max(self.initial, retry_after) if not math.isnan(retry_after) else self.initial
        else:
            try:
                ceiling = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
            except OverflowError:  # float power past ~1e308 (attempt > ~1000 at x2): far above any maximum
                ceiling = self.maximum
            wait = (rand or random).uniform(0.0, ceiling)
        if waited + wait > self.max_time:
            return None
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None when absent or an HTTP date (rare, ignored)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if math.isnan(seconds):
        return 0.0  # says nothing usable: the policy's floor (its base backoff) applies
    return max(0.0, seconds)  # inf stays inf: more than any max_time, so the call gives up rather than wait
