"""What the client does, as events a user can subscribe to, and counters the CLI and benchmarks print.

Subscribers are plain callables run inline on the send path: keep them cheap (append to a list, bump a metric).
An exception in one is logged and swallowed so that observing never breaks the request.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Literal

__all__ = ["Counters", "Event", "EventBus", "EventKind"]

logger = logging.getLogger("zcrm_async")

EventKind = Literal["request", "response", "retry", "throttled", "token_refreshed", "credits", "error"]


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. Fields not relevant to a kind are None."""

    kind: EventKind
    method: str | None = None
    path: str | None = None
    status: int | None = None
    attempt: int | None = None
    delay: float | None = None
    elapsed: float | None = None
    credits_remaining: int | None = None


@dataclasses.dataclass(slots=True)
class Counters:
    """Running totals, kept by the client for every request it makes.

    The client calls one method for each thing that happens (``sent``, ``returned``, ``answered``, ``retried``,
    ``unanswered``, ``refreshed``), whether or not anyone subscribed to its events: these methods are the only
    place a total changes, and events are built only for subscribers (the request path stays allocation-free).
    """

    requests: int = 0
    responses: int = 0
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    token_refreshes: int = 0
    credits_spent: float = 0.0
    credits_remaining: int | None = None
    #: Requests sent and not answered yet (nor failed, nor cancelled): a gauge, not a total.
    in_flight: int = 0

    def sent(self, credits: float) -> None:
        """A request left for the transport, spending ``credits`` of the budget."""
        self.requests += 1
        self.credits_spent += credits
        self.in_flight += 1

    def returned(self) -> None:
        """The transport gave the request back: answered, failed or cancelled."""
        self.in_flight -= 1

    def answered(self, status: int, credits_remaining: int | None) -> None:
        """A response came, with ``X-API-CREDITS-REMAINING`` read as ``credits_remaining`` (None: absent)."""
        self.responses += 1
        if status >= 500:
            self.server_errors += 1
        elif status == 429:
            self.throttled += 1
        if credits_remaining is not None:
            self.credits_remaining = credits_remaining

    def unanswered(self) -> None:
        """A try got no response (a transport error)."""
        self.transport_errors += 1

    def retried(self) -> None:
        """A try is to be sent again after a backoff."""
        self.retries += 1

    def refreshed(self) -> None:
        """The access token was refreshed."""
        self.token_refreshes += 1


Subscriber = Callable[[Event], None]


class EventBus:
    """Fans events out to subscribers."""

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        # A tuple replaced on (un)subscribe: a subscriber that unsubscribes while an event is being delivered
        # must not make the next subscriber miss it, and emit stays copy-free.
        self._subscribers: tuple[Subscriber, ...] = ()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every event from now on; returns a function that unsubscribes it."""
        self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            subscribers = list(self._subscribers)
            subscribers.remove(subscriber)
            self._subscribers = tuple(subscribers)

        return unsubscribe

    def __bool__(self) -> bool:
        """Whether anyone subscribed: the client builds per-request events only when someone listens."""
        return bool(self._subscribers)

    def emit(self, event: Event) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber(event)
            except Exception:
                logger.exception("an event subscriber failed on %s", event.kind)
