"""FakeZoho's Link Deal to Emails and Unlink Deal from Emails (v8 only, on a Contact's emails).

Bodies and queries are checked against Zoho's OpenAPI file for Link Deal to Emails (``_fake_contract`` lists the
rules and where the sources disagree). Answers take that file's shapes: 200 with one success entry per item;
400 where every item failed, one inner array per item (``{"Emails": [[e0], [e1]]}``); the doc page's codes
beyond the file's two (ALREADY_LINKED, NOT_ALLOWED, INVALID_MODULE, AMBIGUITY_DURING_PROCESSING) in the same
item shape, ``{"api_name", "json_path"}`` pointing at the field at fault. A mix of successes and failures is a
207 with the items flat (the doc pages' multi-status; the file is silent). The single-email link answers the
file's ``{"Emails": [{status, code, message, details: {message_id}}]}`` (the doc page's sample echoes the input
instead). Unlinking an email that is not linked (or unknown, or another contact's) is an INVALID_DATA item,
as the file's unlink errors allow nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ._fake_contract import (
    LINK_MAX_ITEMS,
    Problem,
    check_link_item,
    link_item_error,
    message_ids_problem,
    too_many,
    unlink_item_error,
)
from ._fake_endpoint import on_record
from ._fake_wire import DECODE, error, error_body, item_status, json_response, success
from ._fake_world import Record

if TYPE_CHECKING:
    from ._fake_app import FakeApp

#: Kept for callers of the old name: a link request's most items (Zoho's OpenAPI file: maxItems 20).
LINK_LIMIT = LINK_MAX_ITEMS

#: Link and unlink work on a Contact's emails and exist from v8 on.
_on_contact = on_record(module="Contacts", link_api=True)
#: World.link_code's field at fault -> the field the error names.
_FIELDS = {"message_id": "message_id", "linked_record": "linked_record.id", "owner": "owner.id"}
_STATE_MESSAGES = {
    "ALREADY_LINKED": "the email is already linked",
    "NOT_ALLOWED": "the contact is not associated with the deal",
    "INVALID_DATA": "invalid data",
}


@_on_contact
async def link_emails(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """POST /crm/v8/Contacts/{id}/Emails/actions/link_record: up to 20 items, in order."""
    items = await _link_items(fake, request, LINK_MAX_ITEMS)
    if isinstance(items, web.Response):
        return items
    return item_status([_link_item(fake, contact.id, item, i, None) for i, item in enumerate(items)], "Emails")


@_on_contact
async def link_email(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """POST .../Emails/{message_id}/actions/link_record: one item (maxItems 1), the email named by the URL."""
    items = await _link_items(fake, request, 1)
    if isinstance(items, web.Response):
        return items
    return item_status([_link_item(fake, contact.id, items[0], 0, request.match_info["message_id"])], "Emails")


@_on_contact
async def unlink_emails(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """DELETE .../Emails/actions/link_record?owner_id=&message_ids=a,b: up to 20 ids, 2,000 characters."""
    raw = request.query.get("message_ids")
    bad = _owner_param_error(fake, request) or message_ids_problem(raw)
    if bad is not None:
        return bad if isinstance(bad, web.Response) else json_response(bad, 400)
    assert raw is not None
    ids = raw.split(",")
    return item_status([_unlink_item(fake, contact.id, m, i) for i, m in enumerate(ids)], "Emails")


@_on_contact
async def unlink_email(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """DELETE .../Emails/{message_id}/actions/link_record?owner_id=: one id."""
    bad = _owner_param_error(fake, request)
    if bad is not None:
        return bad
    return item_status([_unlink_item(fake, contact.id, request.match_info["message_id"], 0)], "Emails")


async def _link_items(fake: FakeApp, request: web.Request, limit: int) -> list[Any] | web.Response:
    """The body's ``Emails``, or the request-level 400: not JSON, no ``Emails``, unknown keys, too many."""
    try:
        body = DECODE(await request.read())
    except msgspec.DecodeError:
        return error(400, "INVALID_DATA", "body is not a valid JSON", {})
    items = body.get("Emails") if isinstance(body, dict) else None
    if items is None:
        details = {"api_name": "Emails", "json_path": "Emails"}
        return json_response(error_body("MANDATORY_NOT_FOUND", "required field not found", details), 400)
    extra = [key for key in body if key != "Emails"]
    if not isinstance(items, list) or not items or (extra and not fake.config.leniency.unknown_keys):
        name = extra[0] if extra and isinstance(items, list) and items else "Emails"
        return error(400, "INVALID_DATA", "invalid data", {"api_name": name, "json_path": name})
    if len(items) > limit:
        return json_response(too_many(limit, "Emails", "Emails"), 400)
    return items


def _link_item(fake: FakeApp, contact_id: str, item: Any, i: int, path_message_id: str | None) -> dict[str, Any]:
    try:
        check_link_item(item, single=path_message_id is not None, leniency=fake.config.leniency)
    except Problem as problem:
        return link_item_error(problem, i)
    message_id = path_message_id or item["message_id"]
    fake.stats.link_writes[message_id] += 1
    deal_id, owner_id = str(item["linked_record"]["id"]), str(item["owner"]["id"])
    code, field = fake.world.link_code(contact_id, message_id, deal_id, owner_id)
    if code == "SUCCESS":
        return success({"message_id": message_id}, "Email linked to the record successfully")
    return link_item_error(Problem(code, _FIELDS[field], _STATE_MESSAGES[code]), i)


def _unlink_item(fake: FakeApp, contact_id: str, message_id: str, i: int) -> dict[str, Any]:
    if fake.world.unlink_code(contact_id, message_id) == "SUCCESS":
        return success({"message_id": message_id}, "Email unlinked from the record successfully")
    return unlink_item_error("INVALID_DATA", i)


def _owner_param_error(fake: FakeApp, request: web.Request) -> web.Response | None:
    owner_id = request.query.get("owner_id")
    details = {"api_name": "owner_id", "json_path": "owner_id"}
    if not owner_id:
        return error(400, "MANDATORY_NOT_FOUND", "required field not found", details)
    if fake.world.user(owner_id) is None:
        return error(400, "INVALID_DATA", "the owner id given seems to be invalid", details)
    return None
