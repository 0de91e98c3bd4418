"""What FakeZoho's endpoint handlers share: route placeholders, the version check, the record lookup, the body.

A handler is `async def name(fake, request) -> response`; one that works on the record in its URL is written
`@on_record(...) async def name(fake, request, record)`, and the decorator answers Zoho's errors for an
unknown version, module or record before the handler runs.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec
from aiohttp import web

from ._fake_wire import DECODE, NOT_FOUND, error, json_response
from ._fake_world import EMAIL_MODULES, Record

if TYPE_CHECKING:
    from ._fake_app import FakeApp

Endpoint = Callable[["FakeApp", web.Request], Awaitable[web.StreamResponse]]
RecordEndpoint = Callable[["FakeApp", web.Request, Record], Awaitable[web.StreamResponse]]

#: Route placeholders: the API version, a record id (or external id) and a message id.
V, REC, MID = "{v:v[0-9]+}", "{record_id:[^/]+}", "{message_id:[^/]+}"
#: Module names as Zoho spells them, by their lower-case form (URLs are case-insensitive about modules).
MODULES = {m.lower(): m for m in EMAIL_MODULES}


class Route(NamedTuple):
    """One line of the route table; the handler's name names the route (and FakeStats.requests' key)."""

    method: str
    path: str
    handler: Endpoint


def version_error(fake: FakeApp, request: web.Request, *, link_api: bool = False) -> web.Response | None:
    """Reads and writes are served on config.api_version and v7; Link/Unlink need v8."""
    version = request.match_info["v"]
    if version not in (fake.config.api_version, "v7"):
        return json_response(NOT_FOUND, 404)
    if link_api and int(version[1:]) < 8:
        return error(
            400,
            "API_NOT_SUPPORTED",
            "the API is not supported in this version",
            {"supported_version": "v8"},
        )
    return None


def versioned(*, link_api: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Answer an unsupported API version before the handler runs."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def checked(fake: FakeApp, request: web.Request) -> web.StreamResponse:
            bad = version_error(fake, request, link_api=link_api)
            return bad if bad is not None else await endpoint(fake, request)

        return checked

    return wrap


def on_record(
    *,
    module: str | None = None,
    link_api: bool = False,
    unknown_module_status: int = 400,
    record_details: dict[str, Any] | None = None,
    record_message: str = "the related id given seems to be invalid",
) -> Callable[[RecordEndpoint], Endpoint]:
    """Resolve the URL's version, module (or the fixed `module`) and record_id, answering Zoho's errors.

    Unknown version -> 404 (or 400 API_NOT_SUPPORTED for a link API below v8); unknown module -> INVALID_MODULE
    {"resource_path_index": 0} (400, or `unknown_module_status`); unknown record -> 400 INVALID_DATA with
    `record_details`, by default {"resource_path_index": 1} (Get Emails of a Record's OpenAPI file), and
    `record_message` (Get Record answers record.json's "the id given seems to be invalid").
    """
    details = {"resource_path_index": 1} if record_details is None else record_details

    def wrap(endpoint: RecordEndpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def resolved(fake: FakeApp, request: web.Request) -> web.StreamResponse:
            bad = version_error(fake, request, link_api=link_api)
            if bad is not None:
                return bad
            name = module or MODULES.get(request.match_info["module"].lower())
            if name is None:
                message = "the module name given seems to be invalid"
                return error(unknown_module_status, "INVALID_MODULE", message, {"resource_path_index": 0})
            record = fake.world.record(request.match_info["record_id"], name)
            if record is None:
                return error(400, "INVALID_DATA", record_message, dict(details))
            return await endpoint(fake, request, record)

        return resolved

    return wrap


async def body_items(request: web.Request, key: str, limit: int) -> list[Any] | web.Response:
    """The `key` array of a JSON body, or the top-level 400 Zoho answers for a bad or oversized one."""
    try:
        body = DECODE(await request.read())
    except msgspec.DecodeError:
        return error(400, "INVALID_DATA", "body is not a valid JSON", {})
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return error(400, "INVALID_DATA", "invalid data", {"api_name": key, "json_path": f"$.{key}"})
    if len(items) > limit:
        return error(
            400,
            "LIMIT_EXCEEDED",
            "the number of records exceeds the limit",
            {"api_name": key, "limit": limit},
        )
    return items
