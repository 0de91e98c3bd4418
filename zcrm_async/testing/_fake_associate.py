"""FakeZoho's Associate Email with a Record: log emails sent or received outside CRM on a record.

The body is checked against Zoho's OpenAPI files for Associate Email and the doc page (``_fake_contract`` says
how their disagreements are settled). At most ``FakeConfig.associate_max_items`` emails a request, 1 by
default: the OpenAPI example answers ``maximum_length: 1`` on ``$.Emails`` (the YAML schema's maxItems is 50).
A missing field is a per-item MANDATORY_NOT_FOUND; a bad value fails the request with a top-level INVALID_DATA,
as the examples show. An unknown module answers 404 INVALID_MODULE, an unknown record 400 INVALID_DATA with
empty details, success 201 (the files' statuses). The stored email's owner is ``owner.id`` (the doc page's, for
an admin logging another user's email; an unknown user is INVALID_DATA "Provide a Proper owner id"), else the
token's user. Associated emails skip Deal Prediction (they are logged, not received); a linked_record naming
a Deal links the email to it (no contact check); on a Deals URL the email lives under the linked
Contact/Lead/Account if one is named, else it is reachable only through the deal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ._fake_contract import (
    Problem,
    associate_item_error,
    associate_items,
    check_associate_item,
    parse_date_time,
    too_many,
)
from ._fake_endpoint import on_record
from ._fake_wire import DECODE, error_body, item_status, json_response, success
from ._fake_world import EMAIL_MODULES, Record, World

if TYPE_CHECKING:
    from ._fake_app import FakeApp


@on_record(unknown_module_status=404, record_details={})
async def associate_email(fake: FakeApp, request: web.Request, record: Record) -> web.StreamResponse:
    """POST /crm/{v}/{module}/{record_id}/actions/associate_email: log new emails on a record."""
    try:
        found = associate_items(DECODE(await request.read()))
    except msgspec.DecodeError:
        found = error_body("INVALID_DATA", "body is not a valid JSON", {})
    if isinstance(found, dict):
        return json_response(found, 400)
    key, items = found
    limit = fake.config.associate_max_items
    if len(items) > limit:
        return json_response(too_many(limit, key, f"$.{key}"), 400)
    results = []
    for i, item in enumerate(items):
        try:
            check_associate_item(item, fake.config.leniency)
        except Problem as problem:
            if problem.code != "MANDATORY_NOT_FOUND":  # a bad value fails the request, as the example shows
                return json_response(associate_item_error(problem, i), 400)
            results.append(associate_item_error(problem, i))
            continue
        results.append(_associate_item(fake.world, record, item, i))
    return item_status(results, "Emails", nest_failures=False, success_status=201)


def _associate_item(world: World, record: Record, item: dict[str, Any], i: int) -> dict[str, Any]:
    when = parse_date_time(item["date_time"])
    assert when is not None  # checked by check_associate_item
    linked = _associate_target(world, item, i)
    if isinstance(linked, dict):
        return linked
    owner_id = str(item["owner"]["id"]) if "owner" in item else world.current_user().id
    if world.user(owner_id) is None:
        return associate_item_error(Problem("INVALID_DATA", "owner.id", "Provide a Proper owner id"), i)
    if not world.claim_original(record.id, str(item["original_message_id"])):
        return associate_item_error(Problem("DUPLICATE_DATA", "original_message_id", "duplicate data"), i)
    return success(
        {"message_id": _store_associated(world, record, linked, item, owner_id, when)},
        "Your mail has been added successfully",
    )


def _associate_target(world: World, item: dict[str, Any], i: int) -> Record | dict[str, Any] | None:
    link = item.get("linked_record")
    if link is None:
        return None
    module = link["module"]["api_name"]
    if module not in EMAIL_MODULES:
        problem = Problem("INVALID_DATA", "linked_record.module.api_name", "the api_name given seems to be invalid")
        return associate_item_error(problem, i)
    target = world.record(str(link["id"]), module)
    if target is None:
        problem = Problem("INVALID_DATA", "linked_record.id", "the parent entity id given seems to be invalid")
        return associate_item_error(problem, i)
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
    email.from_ = _address(item["from"])
    email.to = [_address(to) for to in item["to"]]
    email.cc = [_address(cc) for cc in item["cc"]] if "cc" in item else None
    email.original_message_id = str(item["original_message_id"])
    if deal is not None:
        world.link_directly(email.message_id, deal.id)
    return email.message_id


def _address(value: dict[str, Any]) -> dict[str, Any]:
    return {"user_name": value.get("user_name"), "email": value["email"]}
