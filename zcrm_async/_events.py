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
    """Running totals, kept by the client for every request it makes."""

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

    def observe(self, event: Event) -> None:
        match event.kind:
            case "request":
                self.requests += 1
            case "response":
                self.responses += 1
                if event.status is not None and event.status >= 500:
                    self.server_errors += 1
            case "retry":
                self.retries += 1
            case "throttled":
                self.throttled += 1
            case "token_refreshed":
                self.token_refreshes += 1
            case "credits":
                self.credits_remaining = event.credits_remaining
            case "error":
                self.transport_errors += 1


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
