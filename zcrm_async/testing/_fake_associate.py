"""FakeZoho's Associate Email with a Record: log emails sent or received outside CRM on a record."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_endpoint import body_items, on_record
from ._fake_links import LINK_LIMIT
from ._fake_wire import item_error, item_status, success
from ._fake_world import EMAIL_MODULES, Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp

_REQUIRED = ("from", "to", "subject", "content", "date_time", "sent", "original_message_id")


@on_record(unknown_module="permission denied to access the api")
async def associate_email(fake: FakeApp, request: web.Request, record: Record) -> web.StreamResponse:
    """POST /crm/{v}/{module}/{record_id}/actions/associate_email: log new emails on a record."""
    items = await body_items(request, "Emails", LINK_LIMIT)
    if isinstance(items, web.Response):
        return items
    return item_status([_associate_item(fake.world, record, item, i) for i, item in enumerate(items)], "Emails")


def _associate_item(world: World, record: Record, item: Any, i: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        return item_error("INVALID_DATA", "invalid data", "", i)
    for key in _REQUIRED:
        if item.get(key) in (None, ""):
            return item_error("MANDATORY_NOT_FOUND", "required field not found", key, i)
    when = _parse_time(item["date_time"])
    if when is None or not isinstance(item["sent"], bool):
        return item_error("INVALID_DATA", "invalid data", "date_time" if when is None else "sent", i)
    owner_id = _nested_id(item, "owner") or world.current_user().id
    if world.user(owner_id) is None:
        return item_error("INVALID_DATA", "Provide a Proper owner id", "owner", i)
    linked = _associate_target(world, item, i)
    if isinstance(linked, dict):
        return linked
    if not world.claim_original(record.id, str(item["original_message_id"])):
        return item_error("DUPLICATE_DATA", "duplicate data", "original_message_id", i)
    return success(
        {"message_id": _store_associated(world, record, linked, item, owner_id, when)},
        "Your mail has been added successfully",
    )


def _associate_target(world: World, item: dict[str, Any], i: int) -> Record | dict[str, Any] | None:
    link = item.get("linked_record")
    if link is None:
        return None
    module = (
        link.get("module", {}).get("api_name")
        if isinstance(link, dict) and isinstance(link.get("module"), dict)
        else None
    )
    if module not in EMAIL_MODULES:
        return item_error("INVALID_DATA", "the api_name given seems to be invalid", "linked_record", i)
    target = world.record(str(link.get("id")), module)
    if target is None:
        return item_error("INVALID_DATA", "the parent entity id given seems to be invalid", "linked_record", i)
    return target


def _store_associated(
    world: World, record: Record, linked: Record | None, item: dict[str, Any], owner_id: str, when: float
) -> str:
    deal = record if record.module == "Deals" else linked if linked and linked.module == "Deals" else None
    home = record if record.module != "Deals" else linked if linked and linked.module != "Deals" else None
    email = world.add_email(
        home.id if home else None,
        owner_id,
        subject=str(item["subject"]),
        received=not item["sent"],
        time=when,
        content=str(item["content"]),
        source="crm_email",
    )
    # Keep the sender's addresses as given rather than the ones derived from the record.
    email.from_ = item["from"]
    email.to = item["to"]
    email.cc = item.get("cc")
    email.original_message_id = str(item["original_message_id"])
    if deal is not None:
        world.link_directly(email.message_id, deal.id)
    return email.message_id


def _nested_id(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if isinstance(value, dict) and value.get("id") not in (None, ""):
        return str(value["id"])
    return None


def _parse_time(value: Any) -> float | None:
    try:
        return datetime.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None
