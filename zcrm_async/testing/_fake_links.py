"""FakeZoho's Link Deal to Emails and Unlink Deal from Emails (v8 only, on a Contact's emails)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_endpoint import body_items, on_record
from ._fake_wire import DEALS_MODULE_ID, error, item_error, item_status, json_response, success
from ._fake_world import Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

LINK_LIMIT = 20
_UNLINK_CHARS = 2000

#: Link and unlink work on a Contact's emails and exist from v8 on.
_on_contact = on_record(module="Contacts", link_api=True)


@_on_contact
async def link_emails(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """POST /crm/v8/Contacts/{id}/Emails/actions/link_record: up to 20 items, in order."""
    items = await body_items(request, "Emails", LINK_LIMIT)
    if isinstance(items, web.Response):
        return items
    return item_status([_link_item(fake.world, contact.id, item, i, None) for i, item in enumerate(items)], "Emails")


@_on_contact
async def link_email(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """POST .../Emails/{message_id}/actions/link_record: one item; success echoes the input item."""
    items = await body_items(request, "Emails", 1)
    if isinstance(items, web.Response):
        return items
    result = _link_item(fake.world, contact.id, items[0], 0, request.match_info["message_id"])
    if result["status"] == "success":
        return json_response({"Emails": [items[0]]})
    return json_response({"Emails": [[result]]}, 400)


@_on_contact
async def unlink_emails(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """DELETE .../Emails/actions/link_record?owner_id=&message_ids=a,b: up to 20 ids."""
    raw = request.query.get("message_ids")
    bad = _owner_param_error(fake.world, request) or _message_ids_error(raw)
    if bad is not None:
        return bad
    assert raw is not None
    return item_status([_unlink_item(fake.world, contact.id, m) for m in raw.split(",")], "Emails")


@_on_contact
async def unlink_email(fake: FakeApp, request: web.Request, contact: Record) -> web.StreamResponse:
    """DELETE .../Emails/{message_id}/actions/link_record?owner_id=: one id."""
    bad = _owner_param_error(fake.world, request)
    if bad is not None:
        return bad
    return item_status([_unlink_item(fake.world, contact.id, request.match_info["message_id"])], "Emails")


def _link_item(world: World, contact_id: str, item: Any, i: int, path_message_id: str | None) -> dict[str, Any]:
    problem = _link_item_problem(item, i, path_message_id)
    if problem is not None:
        return problem
    message_id = path_message_id or item["message_id"]
    code, field = world.link_code(contact_id, message_id, item["linked_record"]["id"], item["owner"]["id"])
    if code == "SUCCESS":
        return success({"message_id": message_id}, "email has been linked with the deal successfully")
    if code == "INVALID_DATA":
        return item_error(code, "invalid data", field, i)
    message = (
        "the email is already linked" if code == "ALREADY_LINKED" else "the contact is not associated with the deal"
    )
    return {"code": code, "details": {"message_id": message_id}, "message": message, "status": "error"}


def _unlink_item(world: World, contact_id: str, message_id: str) -> dict[str, Any]:
    if world.unlink_code(contact_id, message_id) == "SUCCESS":
        return success({"message_id": message_id}, "email has been unlinked from the deal successfully")
    return {
        "code": "INVALID_DATA",
        "details": {"message_id": message_id},
        "message": "invalid data",
        "status": "error",
    }


def _owner_param_error(world: World, request: web.Request) -> web.Response | None:
    owner_id = request.query.get("owner_id")
    if not owner_id:
        return error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": "owner_id"},
        )
    if world.user(owner_id) is None:
        return error(400, "INVALID_DATA", "the owner id given seems to be invalid", {"param": "owner_id"})
    return None


def _is_numeric_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).isdigit()


def _link_item_problem(item: Any, i: int, path_message_id: str | None) -> dict[str, Any] | None:
    """Validation of one link item, in the order Zoho lists its keys; None when the item is well formed."""
    if not isinstance(item, dict):
        return item_error("INVALID_DATA", "invalid data", "", i)
    owner = item.get("owner")
    if not isinstance(owner, dict) or owner.get("id") in (None, ""):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", "owner", i)
    if not _is_numeric_id(owner["id"]):
        return item_error("INVALID_DATA", "invalid data", "owner.id", i)
    message_id = path_message_id or item.get("message_id")
    if message_id in (None, ""):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", "message_id", i)
    if not isinstance(message_id, str) or not message_id.isalnum() or len(message_id) > 500:
        return item_error("INVALID_DATA", "invalid data", "message_id", i)
    return _linked_record_problem(item.get("linked_record"), i)


def _linked_record_problem(link: Any, i: int) -> dict[str, Any] | None:
    if not isinstance(link, dict):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record", i)
    module = link.get("module")
    if not isinstance(module, dict) or module.get("api_name") in (None, ""):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record.module", i)
    if module["api_name"] != "Deals":
        return item_error("INVALID_MODULE", "the module name given seems to be invalid", "linked_record.module", i)
    if module.get("id") not in (None, DEALS_MODULE_ID):
        return item_error("AMBIGUITY_DURING_PROCESSING", "ambiguity during processing", "linked_record.module.id", i)
    if link.get("id") in (None, ""):
        return item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record.id", i)
    if not _is_numeric_id(link["id"]):
        return item_error("INVALID_DATA", "invalid data", "linked_record.id", i)
    link["id"] = str(link["id"])
    return None


def _message_ids_error(raw: str | None) -> web.Response | None:
    if not raw:
        return error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {"param": "message_ids"},
        )
    ids = raw.split(",")
    if len(raw) > _UNLINK_CHARS or len(ids) > LINK_LIMIT:
        return error(
            400,
            "LIMIT_EXCEEDED",
            "the number of message ids exceeds the limit",
            {"param": "message_ids", "limit": LINK_LIMIT, "max_length": _UNLINK_CHARS},
        )
    if not all(m.isalnum() for m in ids):
        return error(400, "INVALID_DATA", "invalid data", {"param": "message_ids"})
    return None
