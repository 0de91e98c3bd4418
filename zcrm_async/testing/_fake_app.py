"""FakeZoho's HTTP face: the app that joins the gates (auth, limits, faults) and the route table.

Choices made where Zoho's docs are silent (the rest follows Zoho's pages: "API Limits",
"Token Validity", "Status Codes" and each endpoint's page):

- Order of checks for an API request: URL (404 INVALID_URL_PATTERN / 400 INVALID_REQUEST_METHOD, no auth
  needed), auth (401), burst_429, concurrency cap, heavy sub-concurrency, credits (all 429
  TOO_MANY_REQUESTS, costing no credit), then the credit is spent, the request counts as in flight, latency
  is slept, then error_rate (500 INTERNAL_ERROR) and drop_rate (connection dropped), then the handler, then
  lost_response_rate for writes. A 500 or a dropped request has cost its credit, as a real server would have
  done the accounting first.
- Credits: 1 per call; Get Records with cvid costs 3 ("API Limits"), COQL 1-3 by its LIMIT, Insert, Update and
  Upsert Records 1 per 10 records. Heavy calls: Get Records with cvid or sort_by, COQL (`_fake_coql` has its
  rules), Insert, Update and Upsert of more than 10 records.
- X-API-CREDITS-REMAINING is sent on every API response (429s included) once half the daily credits are
  used.
- Token endpoint: authorization_code grants answer invalid_code (this fake never issues codes); other grant
  types answer unsupported_grant_type. A throttled ("Access Denied") refresh does not count toward the
  window. The token endpoint is not subject to API limits or faults.
- Versions: reads and writes are served on `api_version` and v7; Link/Unlink answer API_NOT_SUPPORTED below
  v8. Any other version is an unknown URL (404).
- Link, unlink, associate and Get Emails follow Zoho's OpenAPI files for them, strictly: what each checks,
  the shapes it answers, and how disagreements between Zoho's sources are settled are in `_fake_contract`
  (request rules), `_fake_links`, `_fake_associate` and `_fake_emails` (answers). Every rule can be waived
  only through `FakeConfig.leniency` (all off by default).
- Get Emails: the `index` cursor is 96 hex characters (a keyed digest plus the offset); the first page's
  prev_index is "0" as in the sample, and "0" is accepted as the first page; the last page's next_index is
  null. An index past the end answers 204. Received emails carry status type "received", sent ones "sent".
  type=sent_from_crm lists sent emails of source "crm_email"; scheduled_in_crm and drafts list nothing
  (204); user_emails lists source "individual", optionally of owner_id. Filtered listings scan the record's
  list. One email: unknown message id (or one not on that record) -> 400 INVALID_DATA.
- Module metadata (`_fake_modules`): Get Modules and Get Module by API name need a modules scope
  (`FakeConfig.scope`), else 401 OAUTH_SCOPE_MISMATCH.
- Update Related Records: at most 100 items; an unknown parent is a top-level 400 INVALID_DATA; per-item
  errors use the records status rule (all failed -> 400 with the flat {"data":[...]}); re-adding an existing
  relation answers SUCCESS "relation added".
- Get Record and a deal's contact roles (`_fake_deal_contacts`): a modules read scope, else 401
  OAUTH_SCOPE_MISMATCH; a deal's roles are its associated contacts other than its Contact_Name.
- Insert, Update, Upsert and Delete Records: see `_fake_record_writes`.
- Search Records and Record Count (`_fake_search`): their rules are in its docstring.
- Get Records: `ids` (comma-separated) answers only those records the fake has (204 when none); unknown field names
  are left out of each record; sort_by orders by id (records are created in id order); page and page_token
  together, or cvid and sort_by together -> 400 AMBIGUITY_DURING_PROCESSING; a page_token used with other
  fields/per_page/sort -> TOKEN_BOUND_DATA_MISMATCH; expired -> EXPIRED_VALUE.

Where things live: `_fake_gates` (the order above), `_fake_oauth`, `_fake_limits`, `_fake_faults`; the
handlers by endpoint family in `_fake_emails`, `_fake_links`, `_fake_associate`, `_fake_records`,
`_fake_metadata` (Get Fields: the Stage picklist), `_fake_deal_contacts` (Get Record, contact roles),
`_fake_modules` (Get Modules); `_fake_contract` (the request schemas of Zoho's OpenAPI files, and the leniency
flags);
`_fake_endpoint` (version check, record lookup, JSON body), `_fake_wire` (Zoho's response shapes),
`_fake_config` (FakeConfig, FakeStats).

Adding an endpoint: write `async def name(fake, request)` in its family's module (decorate it with
`@on_record(...)` to receive the URL's record, or `@versioned()`), then add one `Route` line to `ROUTES`.
"""

from __future__ import annotations

import asyncio
import functools
import random

from aiohttp import web

from . import (
    _fake_associate,
    _fake_bulk_read,
    _fake_bulk_write,
    _fake_coql,
    _fake_deal_contacts,
    _fake_emails,
    _fake_links,
    _fake_metadata,
    _fake_modules,
    _fake_oauth,
    _fake_record_writes,
    _fake_records,
    _fake_search,
)
from ._fake_bulk_jobs import BulkStore
from ._fake_config import FakeConfig, FakeStats
from ._fake_endpoint import MID, REC, Route, V
from ._fake_faults import Faults
from ._fake_gates import gates
from ._fake_limits import Concurrency, Credits
from ._fake_oauth import Tokens
from ._fake_wire import DEALS_MODULE_ID
from ._fake_world import World

__all__ = ["DEALS_MODULE_ID", "ROUTES", "FakeApp", "FakeConfig", "FakeStats"]

_CRM = f"/crm/{V}"
_BULK = f"/crm/bulk/{V}"
_LINK = "actions/link_record"
_JOB = "{job_id:[0-9]+}"
_WRITE_RESULT = f"/{V}/crm/{{org:[0-9]+}}/bulk-write/{_JOB}/{{name:[0-9]+[.]zip}}"

#: Every endpoint FakeZoho serves; a route's name is its handler's name.
ROUTES = (
    Route("POST", "/oauth/v2/token", _fake_oauth.token),
    Route("POST", f"{_CRM}/coql", _fake_coql.coql),  # before any POST /{module}, which it would match too
    # Bulk Read and Bulk Write (`_fake_bulk_read`, `_fake_bulk_write`); /org and /upload before /{module}.
    Route("GET", f"{_CRM}/org", _fake_bulk_write.get_org),
    Route("POST", f"{_CRM}/upload", _fake_bulk_write.upload_file),
    Route("POST", f"{_BULK}/read", _fake_bulk_read.create_bulk_read),
    Route("GET", f"{_BULK}/read/{_JOB}", _fake_bulk_read.get_bulk_read),
    Route("GET", f"{_BULK}/read/{_JOB}/result", _fake_bulk_read.download_bulk_read),
    Route("POST", f"{_BULK}/write", _fake_bulk_write.create_bulk_write),
    Route("GET", f"{_BULK}/write/{_JOB}", _fake_bulk_write.get_bulk_write),
    Route("GET", _WRITE_RESULT, _fake_bulk_write.download_bulk_write),
    Route("GET", f"{_CRM}/{{module}}", _fake_records.get_records),
    Route("POST", f"{_CRM}/{{module}}", _fake_record_writes.insert_records),
    Route("PUT", f"{_CRM}/{{module}}", _fake_record_writes.update_records),
    Route("DELETE", f"{_CRM}/{{module}}", _fake_record_writes.delete_records),
    Route("POST", f"{_CRM}/{{module}}/upsert", _fake_record_writes.upsert_records),
    Route("GET", f"{_CRM}/{{module}}/{REC}/Emails", _fake_emails.get_emails),
    Route("GET", f"{_CRM}/{{module}}/{REC}/Emails/{MID}", _fake_emails.get_email),
    Route("POST", f"{_CRM}/Contacts/{REC}/Emails/{_LINK}", _fake_links.link_emails),
    Route("DELETE", f"{_CRM}/Contacts/{REC}/Emails/{_LINK}", _fake_links.unlink_emails),
    Route("POST", f"{_CRM}/Contacts/{REC}/Emails/{MID}/{_LINK}", _fake_links.link_email),
    Route("DELETE", f"{_CRM}/Contacts/{REC}/Emails/{MID}/{_LINK}", _fake_links.unlink_email),
    Route("POST", f"{_CRM}/{{module}}/{REC}/actions/associate_email", _fake_associate.associate_email),
    Route("PUT", f"{_CRM}/{{module}}/{REC}/{{related}}", _fake_records.update_related),
    Route("GET", f"{_CRM}/settings/fields", _fake_metadata.get_fields),
    Route("GET", f"{_CRM}/settings/modules", _fake_modules.get_modules),
    Route("GET", f"{_CRM}/settings/modules/{{api_name}}", _fake_modules.get_module),
    # After the settings routes, which it would match too (routes are tried in this order).
    Route("GET", f"{_CRM}/{{module}}/search", _fake_search.search_records),
    Route("GET", f"{_CRM}/{{module}}/actions/count", _fake_search.record_count),
    Route("GET", f"{_CRM}/{{module}}/{REC}", _fake_deal_contacts.get_record),
    Route("GET", f"{_CRM}/Deals/{REC}/Contact_Roles", _fake_deal_contacts.get_contact_roles),
)


class FakeApp:
    """Builds the aiohttp application and owns the per-org server state the gates and handlers share."""

    __slots__ = (
        "app", "bulk", "concurrency", "config", "credits", "faults", "handlers", "index_key", "rng", "stats", "tokens",
        "world",
    )  # fmt: skip

    def __init__(self, config: FakeConfig, world: World) -> None:
        self.config = config
        self.world = world
        #: One seeded generator for tokens and faults, so a seed replays the same run.
        self.rng = random.Random(config.seed)
        self.stats = FakeStats()
        self.faults = Faults(config)
        self.tokens = Tokens(config, self.rng)
        self.credits = Credits(config.daily_credits, config.clock)
        self.concurrency = Concurrency(config.concurrency_cap, config.heavy_cap)
        #: Key for the cursors and page tokens this fake hands out (opaque and unforgeable, like Zoho's).
        self.index_key = f"zcrm-fake:{config.seed}".encode()
        #: The tasks of the calls being served (the gates add and remove them).
        self.handlers: set[asyncio.Task[object]] = set()
        #: Bulk Read and Bulk Write jobs, uploaded files, and their test knobs.
        self.bulk = BulkStore()
        self.app = web.Application(middlewares=[gates(self)])
        for route in ROUTES:
            handler = functools.partial(route.handler, self)
            self.app.router.add_route(route.method, route.path, handler, name=route.handler.__name__)
