"""``RetryPolicy.delay``: the pure decision, with a seeded random source."""

from __future__ import annotations

import random

import pytest

from zcrm_async import RetryPolicy

# private on purpose: Retry-After parsing, a pure function
from zcrm_async._retry import parse_retry_after


@pytest.mark.parametrize("status", [None, 429, 500, 502, 503, 504])
def test_retried_outcomes(status: int | None) -> None:
    assert RetryPolicy().should_retry(status)
    assert RetryPolicy().delay(attempt=1, status=status, waited=0.0, rand=random.Random(1)) is not None


@pytest.mark.parametrize("status", [200, 201, 204, 207, 400, 401, 403, 404, 412, 413, 501])
def test_final_outcomes(status: int) -> None:
    assert not RetryPolicy().should_retry(status)
    assert RetryPolicy().delay(attempt=1, status=status, waited=0.0) is None


def test_statuses_are_configurable() -> None:
    policy = RetryPolicy(statuses=frozenset({503}))
    assert policy.delay(attempt=1, status=503, waited=0.0) is not None
    assert policy.delay(attempt=1, status=429, waited=0.0) is None
    assert policy.delay(attempt=1, status=None, waited=0.0) is not None  # no response is always worth a retry


def test_attempts_cap_counts_the_first_try() -> None:
    policy = RetryPolicy(attempts=3)
    assert policy.delay(attempt=1, status=500, waited=0.0) is not None
    assert policy.delay(attempt=2, status=500, waited=0.0) is not None
    assert policy.delay(attempt=3, status=500, waited=0.0) is None
    assert RetryPolicy(attempts=1).delay(attempt=1, status=None, waited=0.0) is None


def test_full_jitter_stays_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy(attempts=20, initial=0.5, maximum=10.0, multiplier=2.0, max_time=1e9)
    rand = random.Random(1234)
    for attempt in range(1, 20):
        ceiling = min(10.0, 0.5 * 2.0 ** (attempt - 1))
        delays = [policy.delay(attempt=attempt, status=429, waited=0.0, rand=rand) for _ in range(300)]
        assert all(d is not None and 0.0 <= d <= ceiling for d in delays)
        values = [d for d in delays if d is not None]
        # full jitter: spread over [0, ceiling], not clustered at the top (what plain exponential would do)
        assert min(values) < ceiling * 0.1
        assert max(values) > ceiling * 0.9


def test_seeded_jitter_is_reproducible() -> None:
    policy = RetryPolicy()
    first = [policy.delay(attempt=a, status=503, waited=0.0, rand=random.Random(7)) for a in range(1, 8)]
    again = [policy.delay(attempt=a, status=503, waited=0.0, rand=random.Random(7)) for a in range(1, 8)]
    assert first == again
    assert len(set(first)) > 1


def test_max_time_caps_the_total_backoff() -> None:
    policy = RetryPolicy(attempts=100, initial=10.0, maximum=10.0, max_time=30.0)

    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    assert policy.delay(attempt=1, status=500, waited=20.0, rand=Top()) == 10.0  # exactly at the budget
    assert policy.delay(attempt=2, status=500, waited=20.5, rand=Top()) is None


def test_retry_after_wins_over_the_backoff() -> None:
    policy = RetryPolicy(initial=0.25, maximum=1.0)
    assert policy.delay(attempt=1, status=429, waited=0.0, retry_after=7.0, rand=random.Random(0)) == 7.0
    assert policy.delay(attempt=1, status=503, waited=0.0, retry_after=0.0) == 0.25  # floored at initial


def test_retry_after_still_respects_attempts_and_max_time() -> None:
    policy = RetryPolicy(attempts=3, max_time=60.0)
    assert policy.delay(attempt=3, status=429, waited=0.0, retry_after=1.0) is None
    assert policy.delay(attempt=1, status=429, waited=0.0, retry_after=61.0) is None
    assert policy.delay(attempt=1, status=429, waited=50.0, retry_after=11.0) is None


def test_retry_after_does_not_make_a_final_status_retryable() -> None:
    assert RetryPolicy().delay(attempt=1, status=400, waited=0.0, retry_after=1.0) is None


def test_no_wait_retries_without_waiting() -> None:
    policy = RetryPolicy.no_wait(attempts=4)
    rand = random.Random(3)
    assert [policy.delay(attempt=a, status=500, waited=0.0, rand=rand) for a in (1, 2, 3, 4)] == [0.0, 0.0, 0.0, None]


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"initial": -1.0}, {"maximum": -1.0}, {"max_time": -1.0}])
def test_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("5", 5.0), ("0.5", 0.5), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_a_very_late_attempt_waits_at_most_the_maximum() -> None:
    # 2.0 ** 1100 overflows a float: the bound must saturate at `maximum`, not raise OverflowError.
    policy = RetryPolicy(attempts=5000, initial=0.25, maximum=20.0, max_time=1e12)
    delay = policy.delay(attempt=1100, status=500, waited=0.0, rand=random.Random(5))
    assert delay is not None and 0.0 <= delay <= 20.0
