"""A backfill stops cleanly when Zoho's API cannot be reached any more, instead of failing every item left: the
detector ``Stop`` asks (``StopReason.UNREACHABLE``).

When the network or the API goes away mid-run, each request is retried and then fails with ``TRANSPORT_ERROR``:
the run would go on taking batches and failing them, a few items a second, for hours on a large input. So when
the API has answered nothing for ``patience`` seconds while requests kept failing without an answer, the run is
stopped, as when the day's credits run out. Items never taken stay pending; items whose requests were out stay
in flight and the next run reads them back before sending anything (so nothing is sent twice); items that already
failed for want of an answer are transient failures, which the next run also reads back and tries again.

An API that takes connections and never answers fails nothing until the client's request timeout (60 s, then its
retries): so a request waiting ``patience`` seconds while no request at all is answered stops the run too, and
``--unreachable-after N`` stops in about N seconds whichever way the API went away. A slow API is not an
unreachable one as long as some answer arrives within ``patience``; a run waiting on its budget (credits, a shared
Redis budget) has nothing in flight and is never stopped.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["UNREACHABLE_AFTER", "ReachWatch"]

#: Seconds without any answer, while requests fail, before a run gives up: longer than the client's own retries of
#: one request, so a short outage is ridden out and only a lasting one stops the run.
UNREACHABLE_AFTER = 60.0


@dataclasses.dataclass(slots=True)
class ReachWatch:
    """Watches the client's answers while a run sends; ``check`` says once the API is unreachable."""

    crm: ZohoCRM
    patience: float = UNREACHABLE_AFTER
    clock: Callable[[], float] = time.monotonic
    #: Set when the run was stopped because nothing answered.
    unreachable: bool = False
    _answers: int = 0
    _failures: int = 0
    #: When the first request failed since the last answer (None: none has), and when the latest did.
    _silent_since: float | None = None
    _failed_at: float = 0.0
    #: Since when some request has been out with no answer to any request (None: none is out, or one was answered).
    _waiting_since: float | None = None

    def check(self) -> bool:
        """Whether the API has answered nothing for ``patience`` seconds while requests kept failing without an
        answer (the latest within that time: a run waiting on its budget, sending nothing, is not stopped), or
        while a request waited for its answer all that time."""
        counters, now = self.crm.counters, self.clock()
        if counters.responses != self._answers:  # an answer, of any status: the API is there
            self._answers, self._failures, self._silent_since = counters.responses, counters.transport_errors, None
            self._waiting_since = None
        elif counters.transport_errors != self._failures:
            self._failures, self._failed_at = counters.transport_errors, now
            if self._silent_since is None:
                self._silent_since = now
        if counters.in_flight <= 0:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = now
        failing = self._silent_since is not None and (
            now - self._silent_since >= self.patience and now - self._failed_at < self.patience
        )
        waiting = self._waiting_since is not None and now - self._waiting_since >= self.patience
        self.unreachable = self.unreachable or failing or waiting
        return self.unreachable

    def start(self) -> None:
        """Count from now: what the client answered before the run is not this run's."""
        counters = self.crm.counters
        self._answers, self._failures = counters.responses, counters.transport_errors
