"""When the API stops answering mid-run, the watch stops the run; a slow API or an idle run is never stopped."""

from __future__ import annotations

from zcrm_async import ZohoCRM
from zcrm_async.backfill import Stop, StopReason

# private on purpose: ReachWatch and the CLI's stop message, the units under test
from zcrm_async.backfill._reach import ReachWatch
from zcrm_async.cli._stops import stop_message


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _watch() -> tuple[ReachWatch, ZohoCRM, Clock]:
    crm = ZohoCRM(client_id="1", client_secret="s", refresh_token="r", api_domain="http://127.0.0.1:9")
    clock = Clock()
    return ReachWatch(crm, patience=60, clock=clock), crm, clock


def test_requests_failing_with_no_answer_for_the_patience_stop_the_run() -> None:
    watch, crm, clock = _watch()
    for _ in range(12):  # a failure every 5 s, never an answer
        crm.counters.transport_errors += 1
        assert not watch.check()
        clock.now += 5
    crm.counters.transport_errors += 1
    assert watch.check() and watch.unreachable


def test_any_answer_starts_the_patience_again() -> None:
    watch, crm, clock = _watch()
    for second in range(0, 300, 5):
        crm.counters.transport_errors += 1
        if second % 50 == 0:
            crm.counters.responses += 1  # now and then one gets through: the API is there
        assert not watch.check(), second
        clock.now += 5


def test_a_slow_api_that_fails_nothing_is_never_unreachable() -> None:
    watch, _, clock = _watch()
    for _ in range(100):
        clock.now += 10
        assert not watch.check()


def test_one_failure_then_a_run_sending_nothing_is_not_stopped() -> None:
    """The budget may hold every call for minutes (credits, a shared Redis budget): silence without failures."""
    watch, crm, clock = _watch()
    crm.counters.transport_errors += 1
    assert not watch.check()
    for _ in range(30):
        clock.now += 10
        assert not watch.check()


def test_the_message_says_what_was_kept_and_what_to_do() -> None:
    _, crm, _ = _watch()  # the message is the CLI's, for the library's stop
    stop = Stop(unreachable_after=60)
    stop.request(StopReason.UNREACHABLE)
    said = stop_message(stop, crm, {"pending": 7, "in_flight": 3, "done": 12}, transient=2)
    assert "127.0.0.1:9" in said and "7 items not sent stay pending" in said and "10 are done" in said
    assert "run the same command again" in said


def test_a_request_waiting_the_patience_with_no_answer_to_any_stops_the_run() -> None:
    """An API that takes connections and never answers fails nothing until the request timeout."""
    watch, crm, clock = _watch()
    crm.counters.requests += 1
    crm.counters.in_flight += 1
    for _ in range(12):
        assert not watch.check()
        clock.now += 5
    assert watch.check() and watch.unreachable


def test_requests_in_flight_while_others_are_answered_do_not_stop_the_run() -> None:
    watch, crm, clock = _watch()
    crm.counters.in_flight = 20  # a slow API: each answer takes long, but answers keep coming
    for _ in range(60):
        crm.counters.responses += 1
        clock.now += 10
        assert not watch.check()
