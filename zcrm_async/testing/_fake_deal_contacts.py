"""FakeZoho's reads of what a record says about its contacts: Get Record, and a deal's contact roles.

- Get Record (``GET /crm/{v}/{module}/{id}``, Zoho's OpenAPI file for records): ``fields`` optional (without it,
  every field this fake knows of the record); ``{"data": [record]}``. A Deals record's ``Contact_Name`` is its
  first associated contact.
- Get Contact Roles of a Specific Deal (``GET /crm/{v}/Deals/{id}/Contact_Roles``, Zoho's page of that name):
  ``fields`` mandatory (REQUIRED_PARAM_MISSING), ``ids`` (comma-separated contact ids) optional; each row is a
  contact with its ``Contact_Role`` ``{"name", "id"}`` and the asked fields. The contacts on a deal's roles are its
  associated contacts other than its ``Contact_Name`` (both make linking their emails allowed); 204 when none.
  ``per_page`` (at most 200) and ``page`` page them, ``info.more_records`` says whether more follow.

Both need a token granted the modules' read scope (``ZohoCRM.modules.{module}.READ`` or ``.ALL``,
``ZohoCRM.modules.READ`` or ``.ALL``; contact roles: the Deals' and the Contacts'), else 401
OAUTH_SCOPE_MISMATCH as Zoho answers; ``FakeConfig.scope`` None grants every scope.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._fake_endpoint import on_record
from ._fake_modules import SCOPE_MISMATCH, granted
from ._fake_records import project
from ._fake_wire import error, json_response
from ._fake_world import Record

if TYPE_CHECKING:
    from ._fake_app import FakeApp

#: The one role this fake gives a contact on a deal (Zoho's default roles include it).
_ROLE = {"name": "Decision Maker", "id": "5843104000000006871"}
_MAX_PER_PAGE = 200


def grants_read(fake: FakeApp, *modules: str) -> bool:
    """Whether the token may read every one of ``modules`` (by a module's own scope or a wider one)."""
    scopes = granted(fake)
    if scopes is None:
        return True
    have = {scope.lower() for scope in scopes}
    wide = {"zohocrm.modules.all", "zohocrm.modules.read"}
    for module in (name.lower() for name in modules):
        if not have & (wide | {f"zohocrm.modules.{module}.read", f"zohocrm.modules.{module}.all"}):
            return False
    return True


@on_record(record_message="the id given seems to be invalid")
async def get_record(fake: FakeApp, request: web.Request, record: Record) -> web.StreamResponse:
    """GET /crm/{v}/{module}/{record_id}: the record, with the asked fields (all it knows without ``fields``)."""
    if not grants_read(fake, record.module):
        return json_response(SCOPE_MISMATCH, 401)
    fields = tuple(f for f in request.query.get("fields", "").split(",") if f) or None
    return json_response({"data": [project(record, fields, fake.world)]})


@on_record(module="Deals")
async def get_contact_roles(fake: FakeApp, request: web.Request, deal: Record) -> web.StreamResponse:
    """GET /crm/{v}/Deals/{deal_id}/Contact_Roles?fields=..[&ids=..]: the contacts on the deal's roles."""
    if not grants_read(fake, "Deals", "Contacts"):
        return json_response(SCOPE_MISMATCH, 401)
    fields = tuple(f for f in request.query.get("fields", "").split(",") if f)
    if not fields:
        return error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
    try:
        per_page, page = int(request.query.get("per_page", _MAX_PER_PAGE)), int(request.query.get("page", 1))
    except ValueError:
        return error(400, "INVALID_DATA", "invalid data", {"param": "per_page"})
    if not 1 <= per_page <= _MAX_PER_PAGE or page < 1:
        return error(400, "INVALID_DATA", "invalid data", {"param": "per_page" if page >= 1 else "page"})
    asked = {i for i in request.query.get("ids", "").split(",") if i}
    roles = sorted(c for c in deal.contact_ids if c != deal.primary_contact and (not asked or c in asked))
    rows = roles[(page - 1) * per_page : page * per_page]
    if not rows:
        return web.Response(status=204)
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": page * per_page < len(roles)}
    return json_response({"data": [_role_row(fake, contact_id, fields) for contact_id in rows], "info": info})


def _role_row(fake: FakeApp, contact_id: str, fields: tuple[str, ...]) -> dict[str, Any]:
    contact = fake.world.record(contact_id, "Contacts")
    row = project(contact, fields, fake.world) if contact is not None else {"id": contact_id}
    return {**row, "Contact_Role": dict(_ROLE)}
