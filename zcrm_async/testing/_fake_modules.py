"""FakeZoho's module metadata: Get Modules, Get Module by API name and by id, as Zoho's OpenAPI file for Modules
shows.

Each module carries every key that file marks required (most at a neutral value: this fake does not model
layouts, profiles or custom views). The endpoints need a token granted ``ZohoCRM.settings.modules.READ``,
``ZohoCRM.settings.modules.ALL`` or ``ZohoCRM.settings.ALL`` (scopes compare case-insensitively); without one
they answer 401 OAUTH_SCOPE_MISMATCH, as Zoho does. ``FakeConfig.scope`` sets what the tokens are granted
(None: every scope). An unknown API name answers 400 INVALID_MODULE.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_contract import DEALS_MODULE_ID
from ._fake_endpoint import versioned
from ._fake_wire import error, json_response

if TYPE_CHECKING:
    from ._fake_app import FakeApp

MODULES_SCOPES = frozenset({"zohocrm.settings.modules.read", "zohocrm.settings.modules.all", "zohocrm.settings.all"})

#: The modules this fake serves, with their ids (Deals' is the one link bodies must name) and labels.
_MODULES: dict[str, tuple[str, str, str]] = {
    "Leads": ("5843104000000002175", "Lead", "Leads"),
    "Contacts": ("5843104000000002179", "Contact", "Contacts"),
    "Accounts": ("5843104000000002177", "Account", "Accounts"),
    "Deals": (DEALS_MODULE_ID, "Deal", "Deals"),
}

SCOPE_MISMATCH = {
    "code": "OAUTH_SCOPE_MISMATCH",
    "details": {},
    "message": "invalid oauth scope to access this URL",
    "status": "error",
}


@versioned()
async def get_modules(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/settings/modules: every module."""
    if not grants_modules(granted(fake)):
        return json_response(SCOPE_MISMATCH, 401)
    return json_response(modules_body())


@versioned()
async def get_module(fake: FakeApp, request: web.Request) -> web.StreamResponse:
    """GET /crm/{v}/settings/modules/{api_name or id}: one module, by API name (or by id: Get Module)."""
    if not grants_modules(granted(fake)):
        return json_response(SCOPE_MISMATCH, 401)
    body = modules_body(request.match_info["api_name"])
    if body is None:
        return error(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
    return json_response(body)


def granted(fake: FakeApp) -> list[str] | None:
    """The scopes the tokens carry (None: every scope)."""
    scope = fake.config.scope
    return None if scope is None else scope.replace(",", " ").split()


def grants_modules(scopes: Iterable[str] | None) -> bool:
    """Whether a token granted ``scopes`` (None: every scope) may read module metadata."""
    return scopes is None or any(scope.lower() in MODULES_SCOPES for scope in scopes)


def module_id(api_name: str) -> str | None:
    entry = _MODULES.get(api_name)
    return entry[0] if entry else None


def modules_body(api_name: str | None = None) -> dict[str, Any] | None:
    """``{"modules": [...]}``: every module, or the one named (None when it does not exist)."""
    if api_name is None:
        return {"modules": [_module(name, i) for i, name in enumerate(_MODULES)]}
    for i, (name, (module_id_, _, _)) in enumerate(_MODULES.items()):
        if api_name.lower() == name.lower() or api_name == module_id_:  # Get Module takes either
            return {"modules": [_module(name, i)]}
    return None


def _module(api_name: str, position: int) -> dict[str, Any]:
    module_id_, singular, plural = _MODULES[api_name]
    return {
        "api_name": api_name,
        "id": module_id_,
        "module_name": plural,
        "singular_label": singular,
        "plural_label": plural,
        "sequence_number": position + 1,
        "generated_type": "default",
        "visibility": 1,
        "visible": True,
        "api_supported": True,
        "creatable": True,
        "editable": True,
        "deletable": True,
        "viewable": True,
        "convertable": api_name == "Leads",
        "quick_create": True,
        "show_as_tab": True,
        "presence_sub_menu": False,
        "common.search_supported": True,
        "recycle_bin_on_delete": True,
        "inventory_template_supported": False,
        "triggers_supported": True,
        "chart_view": False,
        "chart_view_supported": True,
        "isBlueprintSupported": True,
        "emailTemplate_support": True,
        "email_parser_supported": False,
        "filter_supported": True,
        "feeds_required": False,
        "scoring_supported": True,
        "webform_supported": api_name != "Deals",
        "track_current_data": False,
        "kanban_view_supported": True,
        "kanban_view": False,
        "filter_status": True,
        "zia_view": False,
        "description": None,
        "modified_time": None,
        "modified_by": None,
        "web_link": None,
        "parent_module": {},
        "display_field": None,
        "activity_badge": None,
        "per_page": 200,
        "profile_count": 0,
        "business_card_field_limit": 5,
        "arguments": [],
        "profiles": [],
        "$field_states": [],
        "business_card_fields": [],
        "$properties": [],
        "$on_demand_properties": [],
        "search_layout_fields": [],
        "lookup_field_properties": {"fields": []},
        "related_lists": [],
        "related_list_properties": {"sort_by": {"api_name": None, "id": None}, "fields": [], "sort_order": None},
        "layouts": [],
        "fields": [],
        "custom_view": None,
        "default_mapping_fields": [],
        "layout_associations": [],
    }
