"""FakeZoho's field metadata (Get Fields, ``GET /crm/{v}/settings/fields?module=``) and the Deals fields an audit reads.

Follows Zoho's Fields OAS: ``{"fields": [...]}``, each field with ``api_name``, ``data_type``, ``id`` and labels; a
picklist field carries ``pick_list_values`` whose items have ``display_value``, ``actual_value``, ``id``,
``sequence_number``, ``type``, ``colour_code`` and, for the Deals Stage field, ``forecast_type``,
``forecast_category`` and ``probability``; a lookup carries ``lookup.module``. Choices where the docs are silent:
only the fields the fake's records serve are listed; ``type=used|unused|all`` is accepted and lists them all; a
missing ``module`` is 400 REQUIRED_PARAM_MISSING, an unknown one 400 INVALID_MODULE.

Deals records serve ``Contact_Name`` (the deal's first contact, ``{"name", "id"}``), ``Owner`` (``{"name", "id",
"email"}``, the org's first user unless set), ``Modified_Time`` (ISO-8601; the world's modification order, a
minute apart) and ``Closing_Date`` (a date derived from the id).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_endpoint import versioned
from ._fake_stages import CLOSED_LOST, CLOSED_WON, StagePicklist, StageValue
from ._fake_wire import error, json_response
from ._fake_world import Record, World, iso

if TYPE_CHECKING:
    from ._fake_app import FakeApp

__all__ = ["DEAL_FIELDS", "fields_body", "fields_error", "get_fields"]

#: Modified_Time of the deal modified first; each later modification is a minute after the one before.
_MODIFIED_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_CLOSING_BASE = datetime.date(2026, 3, 31)
_FIELD_ID_BASE = 5_843_104_000_000_080_000
_FORECAST_CATEGORY = {"Open": "Pipeline", CLOSED_WON: "Closed", CLOSED_LOST: "Omitted"}
_MODULE_IDS = {"Contacts": "5843104000000002179", "Deals": "5843104000000003735", "Users": "5843104000000002201"}

#: (api_name, label, data_type, json_type, lookup module) of the fields listed per module.
_LISTED: dict[str, tuple[tuple[str, str, str, str, str | None], ...]] = {
    "Deals": (
        ("Owner", "Deal Owner", "ownerlookup", "jsonobject", "Users"),
        ("Deal_Name", "Deal Name", "text", "string", None),
        ("Stage", "Stage", "picklist", "string", None),
        ("Contact_Name", "Contact Name", "lookup", "jsonobject", "Contacts"),
        ("Closing_Date", "Closing Date", "date", "string", None),
        ("Modified_Time", "Modified Time", "datetime", "string", None),
        ("External_Deal_ID", "External Deal ID", "text", "string", None),
    ),
    "Contacts": (
        ("Last_Name", "Last Name", "text", "string", None),
        ("Full_Name", "Full Name", "text", "string", None),
        ("Email", "Email", "email", "string", None),
        ("External_Contact_ID", "External Contact ID", "text", "string", None),
    ),
    "Leads": (
        ("Last_Name", "Last Name", "text", "string", None),
        ("Full_Name", "Full Name", "text", "string", None),
        ("Email", "Email", "email", "string", None),
    ),
    "Accounts": (("Account_Name", "Account Name", "text", "string", None),),
}


@versioned()
async def get_fields(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/settings/fields?module=..: the module's field metadata."""
    bad = fields_error(request.query)
    if bad is not None:
        return error(*bad)
    return json_response(fields_body(request.query["module"], fake.world.stages))


def fields_error(query: Any) -> tuple[int, str, str, dict[str, Any]] | None:
    """The error for bad Get Fields parameters, as (status, code, message, details); None when they are good."""
    module = query.get("module")
    if not module:
        return 400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "module"}
    if module not in _LISTED:
        return 400, "INVALID_MODULE", "the module name given seems to be invalid", {"param": "module"}
    if query.get("type", "all") not in ("all", "used", "unused"):
        return 400, "INVALID_DATA", "invalid data", {"param": "type"}
    return None


def fields_body(module: str, stages: StagePicklist) -> dict[str, Any]:
    """Get Fields' answer for a module (validated by ``fields_error``)."""
    fields = []
    for number, (api_name, label, data_type, json_type, lookup) in enumerate(_LISTED[module], start=1):
        field: dict[str, Any] = {
            "api_name": api_name, "field_label": label, "display_label": label, "data_type": data_type,
            "json_type": json_type, "id": str(_FIELD_ID_BASE + 100 * len(module) + number), "custom_field": False,
            "read_only": api_name == "Modified_Time", "system_mandatory": api_name in ("Deal_Name", "Stage"),
            "visible": True, "sequence_number": number,
        }  # fmt: skip
        if data_type == "picklist":
            field["pick_list_values"] = _stage_values(stages)
        if lookup is not None:
            field["lookup"] = {"module": {"api_name": lookup, "id": _MODULE_IDS[lookup]}}
        fields.append(field)
    return {"fields": fields}


def _stage_values(stages: StagePicklist) -> list[dict[str, Any]]:
    return [_stage_value(value) for value in stages.values]


def _stage_value(value: StageValue) -> dict[str, Any]:
    category = {"name": _FORECAST_CATEGORY[value.forecast_type], "id": str(int(value.id) + 500)}
    return {
        "display_value": value.name, "actual_value": value.name, "id": value.id,
        "sequence_number": value.sequence_number, "type": "used", "colour_code": None,
        "probability": value.probability, "forecast_type": value.forecast_type, "forecast_category": category,
    }  # fmt: skip


def _contact_name(deal: Record, world: World) -> dict[str, str] | None:
    contact = world.record(deal.primary_contact, "Contacts") if deal.primary_contact else None
    return {"name": contact.name, "id": contact.id} if contact is not None else None


def _owner(deal: Record, world: World) -> dict[str, str | None]:
    user = (world.user(deal.owner_id) if deal.owner_id else None) or world.current_user()
    return {"name": user.name, "id": user.id, "email": user.email}


#: The Deals fields beyond name and stage, as Get Records serves them (they need the world: lookups, users).
DEAL_FIELDS: dict[str, Callable[[Record, World], Any]] = {
    "Contact_Name": _contact_name,
    "Owner": _owner,
    "Modified_Time": lambda deal, _: iso(_MODIFIED_EPOCH + 60.0 * deal.modified),
    "Closing_Date": lambda deal, _: (_CLOSING_BASE + datetime.timedelta(days=int(deal.id) % 180)).isoformat(),
}
