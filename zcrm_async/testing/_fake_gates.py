"""The gates every request to FakeZoho passes, composed in one aiohttp middleware in Zoho's order.

URL (404 / 400 wrong method) -> the token endpoint is served as is; API calls: auth (401), burst_429,
concurrency, heavy sub-concurrency, credits (429, no credit spent), then the credit is spent, the call
counts as in flight and faults apply around the handler. One middleware, not one per gate: each layer
would add a call to every request, and the order reads top to bottom here.

A client that goes away is no error of the fake's: the body is read before anything else (a server has the
whole request in hand before it works on it, so a write whose client left mid-call is still applied, as
Zoho would), a request whose body never fully arrived is dropped without a word, and each call's task is
kept in `fake.handlers` so closing the fake can end the calls of clients already gone (aiohttp's shutdown
only sees connections still open).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from ._fake_faults import Handler, call_with_faults
from ._fake_limits import heavy_and_cost
from ._fake_oauth import auth_refusal
from ._fake_wire import BAD_METHOD, NOT_FOUND, TOO_MANY, Dropped, drop, json_response

if TYPE_CHECKING:
    from ._fake_app import FakeApp


def gates(fake: FakeApp) -> Middleware:
    """The middleware for `fake`: counts requests and responses in fake.stats around the gates."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs every request in a task of its own
        fake.handlers.add(task)
        try:
            return await _counted(fake, request, handler)
        finally:
            fake.handlers.discard(task)

    return middleware


async def _counted(fake: FakeApp, request: web.Request, handler: Handler) -> web.StreamResponse:
    route_error = request.match_info.http_exception
    name = request.match_info.route.name or "unknown"
    fake.stats.requests[name] += 1
    if request.body_exists:
        try:
            await request.read()  # aiohttp keeps it: the handler's own read() answers from it
        except ConnectionError:  # the client left before its body arrived: nobody to answer
            return drop(request)
    if route_error is not None:
        response: web.StreamResponse = (
            json_response(BAD_METHOD, 400) if route_error.status == 405 else json_response(NOT_FOUND, 404)
        )
    elif name == "token":
        response = await handler(request)
    else:
        response = await _api_call(fake, request, handler)
    if isinstance(response, Dropped):
        return response
    fake.stats.responses[response.status] += 1
    return response


async def _api_call(fake: FakeApp, request: web.Request, handler: Handler) -> web.StreamResponse:
    refused = auth_refusal(fake.tokens, request)
    if refused is not None:
        return refused
    heavy, cost = await heavy_and_cost(request)
    if fake.faults.take_burst_429() or fake.concurrency.full(heavy) or not fake.credits.can_spend(cost):
        fake.stats.throttled_429 += 1
        return _with_credits(fake, json_response(TOO_MANY, 429))
    fake.credits.spend(cost)
    fake.stats.credits_used += cost
    in_flight = fake.concurrency.enter(heavy)
    fake.stats.max_in_flight = max(fake.stats.max_in_flight, in_flight)
    try:
        response = await call_with_faults(fake, request, handler)
    finally:
        fake.concurrency.leave(heavy)
    return _with_credits(fake, response)


def _with_credits(fake: FakeApp, response: web.StreamResponse) -> web.StreamResponse:
    if isinstance(response, Dropped):
        return response
    remaining = fake.credits.remaining_header()
    if remaining is not None:
        response.headers["X-API-CREDITS-REMAINING"] = remaining
    return response
