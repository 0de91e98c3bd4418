"""A backfill stops cleanly when Redis (``--redis-url``, where the org's shared budget and token live) fails.

The library fails each request Redis kept from going out with ``TRANSPORT_ERROR`` and ``details["cause"]``
``RedisUnavailable``: nothing was sent for those items. Were the run to go on, every item left would fail the same
way (at once when Redis is dead, one ``--redis-timeout`` at a time when it is paused), so at the first such item the
run is cancelled, as when the day's credits run out. Items Redis kept back go back to pending (never sent, they
are not failures); items whose requests were out stay in flight and the next run reads them back before sending
anything (so nothing is sent twice); outcomes already recorded stay. The same command, once Redis is back,
continues from there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import anyio

from .. import ItemResult
from .._write_results import REDIS_UNAVAILABLE

__all__ = ["RedisWatch", "kept_back_by_redis"]


def kept_back_by_redis(result: ItemResult[Any]) -> bool:
    """Whether Redis failing kept this item's request from being sent."""
    return not result.ok and result.details.get("cause") == REDIS_UNAVAILABLE


@dataclasses.dataclass(slots=True)
class RedisWatch:
    """Stops a run at the first item Redis kept back: ``failed`` cancels ``scope`` and keeps the first cause."""

    scope: anyio.CancelScope | None = None
    #: The library's message for the first item Redis kept back; None while Redis works.
    cause: str | None = None
    #: Journal lines of the items Redis kept back, to go back to pending when the run ends.
    kept_back: list[int] = dataclasses.field(default_factory=list)

    @property
    def stopped(self) -> bool:
        return self.cause is not None

    def kept(self, line: int, message: str) -> None:
        self.kept_back.append(line)
        self.failed(message)

    def failed(self, message: str) -> None:
        if self.cause is None:
            self.cause = message
        if self.scope is not None:
            self.scope.cancel()

    def message(self, states: Mapping[str, int]) -> str:
        """What happened, what was kept, and what to do."""
        return (
            f"zcrm-async: the run stopped: {self.cause} (--redis-url; no answer within --redis-timeout counts as "
            f"failed). Nothing was lost: {states.get('pending', 0)} items not sent stay pending, "
            f"{states.get('in_flight', 0)} in flight are read back first next time, {states.get('done', 0)} are done. "
            "Once Redis answers again, run the same command again: it continues where this run stopped"
        )
