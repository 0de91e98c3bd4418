"""FakeZoho's fault injection: the knobs (changeable while running) and the step that applies them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from ._fake_config import FakeConfig
from ._fake_wire import INTERNAL, drop, json_response

if TYPE_CHECKING:
    from ._fake_app import FakeApp

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class Faults:
    """The fault knobs, mutable at run time."""

    __slots__ = ("burst_429", "drop_rate", "error_rate", "latency", "lost_response_rate")

    def __init__(self, config: FakeConfig) -> None:
        self.error_rate = config.error_rate
        self.drop_rate = config.drop_rate
        self.lost_response_rate = config.lost_response_rate
        self.burst_429 = config.burst_429
        self.latency = config.latency

    def take_burst_429(self) -> bool:
        """True while a burst of 429s is still owed (each call uses one)."""
        if self.burst_429 > 0:
            self.burst_429 -= 1
            return True
        return False


async def call_with_faults(fake: FakeApp, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, then error_rate (500) and drop_rate (no state change), the handler, then lost_response_rate
    for writes (state changed, answer lost). The credit was spent before: a real server accounts first."""
    faults, rng = fake.faults, fake.rng
    if faults.latency > 0:
        await fake.config.sleep(faults.latency)
    if faults.error_rate > 0 and rng.random() < faults.error_rate:
        fake.stats.errors_500 += 1
        return json_response(INTERNAL, 500)
    if faults.drop_rate > 0 and rng.random() < faults.drop_rate:
        fake.stats.dropped += 1
        return drop(request)
    response = await handler(request)
    if faults.lost_response_rate > 0 and request.method in _WRITE_METHODS and rng.random() < faults.lost_response_rate:
        fake.stats.lost_responses += 1
        return drop(request)
    return response
