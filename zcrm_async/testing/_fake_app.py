"""FakeZoho's HTTP face: config, the gates every request passes (auth, limits, faults) and the handlers.

Choices made where Zoho's docs are silent (the rest follows /docs: FACTS.md and the endpoint pages):

- Order of checks for an API request: URL (404 INVALID_URL_PATTERN / 400 INVALID_REQUEST_METHOD, no auth
  needed), auth (401), burst_429, concurrency cap, heavy sub-concurrency, credits (all 429
  TOO_MANY_REQUESTS, costing no credit), then the credit is spent, the request counts as in flight, latency
  is slept, then error_rate (500 INTERNAL_ERROR) and drop_rate (connection dropped), then the handler, then
  lost_response_rate for writes. A 500 or a dropped request has cost its credit, as a real server would have
  done the accounting first.
- Credits: 1 per call; Get Records with cvid costs 3 (FACTS 1.2). Heavy calls: Get Records with cvid or
  sort_by.
- X-API-CREDITS-REMAINING is sent on every API response (429s included) once half the daily credits are
  used.
- Token endpoint: authorization_code grants answer invalid_code (this fake never issues codes); other grant
  types answer unsupported_grant_type. A throttled ("Access Denied") refresh does not count toward the
  window. The token endpoint is not subject to API limits or faults.
- Versions: reads and writes are served on `api_version` and v7; Link/Unlink answer API_NOT_SUPPORTED below
  v8. Any other version is an unknown URL (404).
- Link items: owner.id, message_id, linked_record.id and linked_record.module.api_name are required
  (MANDATORY_NOT_FOUND); owner.name, linked_record.name and module.id may be left out, but a module.id that
  is not the Deals module's id (DEALS_MODULE_ID) answers AMBIGUITY_DURING_PROCESSING. Error items for state
  (ALREADY_LINKED, NOT_ALLOWED) carry details {"message_id"}; validation errors carry
  {"api_name","json_path"}.
- Single-email link or unlink errors answer 400 with the nested shape {"Emails":[[{...}]]}.
- Unlink: an id that is unknown, of another contact, or not linked is an INVALID_DATA item; an unknown
  owner_id is a top-level 400 INVALID_DATA. More than 20 ids or message_ids over 2000 characters: top-level
  LIMIT_EXCEEDED.
- Get Emails: the `index` cursor is 96 hex characters (a keyed digest plus the offset); the first page's
  prev_index is "0" as in the sample, and "0" is accepted as the first page; the last page's next_index is
  null. An index past the end answers 204. Received emails carry status [{"type":"received"}], sent ones
  [{"type":"sent"}]. type=sent_from_crm lists sent emails of source "crm_email"; scheduled_in_crm and drafts
  list nothing (204); user_emails lists source "individual", optionally of owner_id. Filtered listings scan
  the record's list. One email: unknown message id (or one not on that record) -> 400 INVALID_DATA.
- Associate Email: at most 20 items (top-level LIMIT_EXCEEDED); an unsupported URL module is a top-level
  INVALID_MODULE; associated emails skip Deal Prediction (they are logged, not received); a linked_record
  naming a Deal links the email to it (no contact check); on a Deals URL the email lives under the linked
  Contact/Lead/Account if one is named, else it is reachable only through the deal. Success answers 200.
- Update Related Records: at most 100 items; an unknown parent is a top-level 400 INVALID_DATA; per-item
  errors use the records status rule (all failed -> 400 with the flat {"data":[...]}); re-adding an existing
  relation answers SUCCESS "relation added".
- Get Records: unknown field names are left out of each record; sort_by orders by id (records are created in
  id order); page and page_token together, or cvid and sort_by together -> 400 AMBIGUITY_DURING_PROCESSING;
  a page_token used with other fields/per_page/sort -> TOKEN_BOUND_DATA_MISMATCH; expired -> EXPIRED_VALUE.
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import dataclasses
import datetime
import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from ._fake_world import EMAIL_MODULES, Email, Record, World

#: The Deals module's id, as in Zoho's samples; link items naming another module id are ambiguous.
DEALS_MODULE_ID = "5843104000000003735"
_MODULES = {m.lower(): m for m in EMAIL_MODULES}
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_LINK_LIMIT = 20
_UNLINK_CHARS = 2000
_PAGE = 10
_REFRESH_WINDOW = 600.0
_CREDIT_WINDOW = 86_400.0
_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder().decode

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class FakeConfig:
    """Everything FakeZoho can be told, fixed for its life (faults can change later via set_faults)."""

    api_version: str = "v8"
    latency: float = 0.0
    concurrency_cap: int = 20
    heavy_cap: int = 10
    daily_credits: int = 1_000_000
    token_ttl: float = 3600.0
    token_refresh_limit: int = 10
    max_active_tokens: int = 15
    error_rate: float = 0.0
    drop_rate: float = 0.0
    lost_response_rate: float = 0.0
    burst_429: int = 0
    seed: int = 0
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    refresh_token: str = "fake-refresh-token"
    #: Clock for token expiry, the refresh window, credits and page tokens (inject a fake one in tests).
    clock: Callable[[], float] = time.monotonic
    #: How latency is waited (inject a gate to hold requests in flight without real sleeps).
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class FakeStats:
    """Counters a test or benchmark reads after the fact."""

    __slots__ = (
        "credits_used",
        "dropped",
        "errors_500",
        "lost_responses",
        "max_in_flight",
        "requests",
        "responses",
        "throttled_429",
        "token_refreshes",
        "tokens_issued",
    )

    def __init__(self) -> None:
        #: Requests by endpoint name ("get_emails", "link_emails", "token", ...).
        self.requests: collections.Counter[str] = collections.Counter()
        #: Responses actually sent, by HTTP status.
        self.responses: collections.Counter[int] = collections.Counter()
        self.throttled_429 = 0
        self.max_in_flight = 0
        self.token_refreshes = 0  #: token-endpoint calls
        self.tokens_issued = 0
        self.credits_used = 0
        self.dropped = 0  #: drop_rate faults (no state change)
        self.lost_responses = 0  #: lost_response_rate faults (state changed, response lost)
        self.errors_500 = 0

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"FakeStats({fields})"


class Faults:
    """The fault knobs, mutable at run time."""

    __slots__ = ("burst_429", "drop_rate", "error_rate", "latency", "lost_response_rate")

    def __init__(self, config: FakeConfig) -> None:
        self.error_rate = config.error_rate
        self.drop_rate = config.drop_rate
        self.lost_response_rate = config.lost_response_rate
        self.burst_429 = config.burst_429
        self.latency = config.latency


# -- responses -----------------------------------------------------------------------------------------


class _Dropped(web.Response):
    """Returned after the connection was closed: nothing reaches the client."""


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=_ENCODE(body), status=status, content_type="application/json")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "details": details if details is not None else {},
        "message": message,
        "status": "error",
    }


def error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> web.Response:
    return json_response(error_body(code, message, details), status)


def item_status(items: list[dict[str, Any]], key: str, nest_failures: bool = True) -> web.Response:
    """Zoho's multi-status rule: all success 200; mixed 207 (flat); all failed 400 (Emails: nested once)."""
    ok = sum(1 for item in items if item["status"] == "success")
    if ok == len(items):
        return json_response({key: items}, 200)
    if ok:
        return json_response({key: items}, 207)
    return json_response({key: [items] if nest_failures else items}, 400)


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.close()
    return _Dropped()


_NOT_FOUND = error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")
_BAD_METHOD = error_body("INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
_NO_AUTH = error_body("AUTHENTICATION_FAILURE", "Authentication failed")
_BAD_TOKEN = error_body("INVALID_TOKEN", "invalid oauth token")
_TOO_MANY = error_body(
    "TOO_MANY_REQUESTS",
    "Number of API requests for the 24 hour period is exceeded or the concurrency limit of the user for the"
    " app is exceeded.",
)
_INTERNAL = error_body("INTERNAL_ERROR", "Internal Server Error")
_ACCESS_DENIED = {
    "error_description": "You have made too many requests continuously. Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


# -- OAuth ---------------------------------------------------------------------------------------------


class Tokens:
    """Zoho Accounts' refresh flow with its two limits (FACTS 1.4)."""

    __slots__ = ("_active", "_by_refresh", "_config", "_rng", "_windows", "valid_refresh_tokens")

    def __init__(self, config: FakeConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng
        self._active: dict[str, float] = {}  # access token -> expiry (config.clock time)
        self._by_refresh: dict[str, collections.deque[str]] = {}
        self._windows: dict[str, collections.deque[float]] = {}
        self.valid_refresh_tokens = {config.refresh_token}

    def refresh(self, params: dict[str, str]) -> dict[str, Any] | None:
        """An error body, or None when the caller may issue a token."""
        cfg = self._config
        if params.get("grant_type") != "refresh_token":
            code = "invalid_code" if params.get("grant_type") == "authorization_code" else "unsupported_grant_type"
            return {"error": code}
        if params.get("client_id") != cfg.client_id or params.get("client_secret") != cfg.client_secret:
            return {"error": "invalid_client"}
        if params.get("refresh_token") not in self.valid_refresh_tokens:
            return {"error": "invalid_code"}
        window = self._windows.setdefault(params["refresh_token"], collections.deque())
        now = cfg.clock()
        while window and window[0] <= now - _REFRESH_WINDOW:
            window.popleft()
        if len(window) >= cfg.token_refresh_limit:
            return _ACCESS_DENIED
        window.append(now)
        return None

    def issue(self, refresh_token: str) -> str:
        token = f"1000.{self._rng.getrandbits(128):032x}.{self._rng.getrandbits(128):032x}"
        self._active[token] = self._config.clock() + self._config.token_ttl
        issued = self._by_refresh.setdefault(refresh_token, collections.deque())
        issued.append(token)
        # The 16th active token invalidates the oldest (FACTS 1.4).
        while len(issued) > self._config.max_active_tokens:
            self._active.pop(issued.popleft(), None)
        return token

    def valid(self, token: str) -> bool:
        expiry = self._active.get(token)
        if expiry is None:
            return False
        if expiry <= self._config.clock():
            del self._active[token]
            return False
        return True

    def expire_all(self) -> None:
        self._active.clear()
        for issued in self._by_refresh.values():
            issued.clear()

    def revoke(self, refresh_token: str) -> None:
        self.valid_refresh_tokens.discard(refresh_token)
        for token in self._by_refresh.pop(refresh_token, ()):
            self._active.pop(token, None)


# -- credits -------------------------------------------------------------------------------------------


class Credits:
    """A rolling 24 h credit window: credits spent at T are freed at T + 24 h.

    Spends are kept in one-second buckets so memory stays bounded (at most 86,400 buckets) at any rate;
    a credit may therefore be freed up to a second early.
    """

    __slots__ = ("_clock", "_spent", "_used", "daily")

    def __init__(self, daily: int, clock: Callable[[], float]) -> None:
        self.daily = daily
        self._clock = clock
        self._spent: collections.deque[list[float]] = collections.deque()  # [bucket start, credits]
        self._used = 0

    def used(self) -> int:
        horizon = self._clock() - _CREDIT_WINDOW
        spent = self._spent
        while spent and spent[0][0] <= horizon:
            self._used -= int(spent.popleft()[1])
        return self._used

    def can_spend(self, cost: int) -> bool:
        return self.used() + cost <= self.daily

    def spend(self, cost: int) -> None:
        now = self._clock()
        spent = self._spent
        if spent and now - spent[-1][0] < 1.0:
            spent[-1][1] += cost
        else:
            spent.append([now, cost])
        self._used += cost

    def remaining_header(self) -> str | None:
        """X-API-CREDITS-REMAINING, sent only once half the allowance is used."""
        used = self.used()
        if used * 2 < self.daily:
            return None
        return str(max(self.daily - used, 0))


# -- the app -------------------------------------------------------------------------------------------


class FakeApp:
    """Builds the aiohttp application and owns the per-org server state."""

    __slots__ = (
        "_heavy_in_flight",
        "_in_flight",
        "_index_key",
        "app",
        "config",
        "credits",
        "faults",
        "rng",
        "stats",
        "tokens",
        "world",
    )

    def __init__(self, config: FakeConfig, world: World) -> None:
        self.config = config
        self.world = world
        self.rng = random.Random(config.seed)
        self.stats = FakeStats()
        self.faults = Faults(config)
        self.tokens = Tokens(config, self.rng)
        self.credits = Credits(config.daily_credits, config.clock)
        self._in_flight = 0
        self._heavy_in_flight = 0
        self._index_key = f"zcrm-fake:{config.seed}".encode()
        self.app = web.Application(middlewares=[self._middleware])
        self._add_routes()

    def _add_routes(self) -> None:
        v, rec, mid = "{v:v[0-9]+}", "{record_id:[^/]+}", "{message_id:[^/]+}"
        add = self.app.router.add_route
        add("POST", "/oauth/v2/token", self.token, name="token")
        add("GET", f"/crm/{v}/{{module}}", self.get_records, name="get_records")
        add("GET", f"/crm/{v}/{{module}}/{rec}/Emails", self.get_emails, name="get_emails")
        add("GET", f"/crm/{v}/{{module}}/{rec}/Emails/{mid}", self.get_email, name="get_email")
        add(
            "POST",
            f"/crm/{v}/Contacts/{rec}/Emails/actions/link_record",
            self.link_emails,
            name="link_emails",
        )
        add(
            "DELETE",
            f"/crm/{v}/Contacts/{rec}/Emails/actions/link_record",
            self.unlink_emails,
            name="unlink_emails",
        )
        add(
            "POST",
            f"/crm/{v}/Contacts/{rec}/Emails/{mid}/actions/link_record",
            self.link_email,
            name="link_email",
        )
        add(
            "DELETE",
            f"/crm/{v}/Contacts/{rec}/Emails/{mid}/actions/link_record",
            self.unlink_email,
            name="unlink_email",
        )
        add(
            "POST",
            f"/crm/{v}/{{module}}/{rec}/actions/associate_email",
            self.associate_email,
            name="associate_email",
        )
        add("PUT", f"/crm/{v}/{{module}}/{rec}/{{related}}", self.update_related, name="update_related")

    # -- middleware: the gates ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route_error = request.match_info.http_exception
        name = request.match_info.route.name or "unknown"
        self.stats.requests[name] += 1
        if route_error is not None:
            response: web.StreamResponse = (
                json_response(_BAD_METHOD, 400) if route_error.status == 405 else json_response(_NOT_FOUND, 404)
            )
        elif name == "token":
            response = await handler(request)
        else:
            response = await self._api(request, handler)
        if isinstance(response, _Dropped):
            return response
        self.stats.responses[response.status] += 1
        return response

    async def _api(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Zoho-oauthtoken "):
            return json_response(_NO_AUTH, 401)
        if not self.tokens.valid(auth[16:].strip()):
            return json_response(_BAD_TOKEN, 401)
        heavy = request.match_info.route.name == "get_records" and (
            "cvid" in request.query or "sort_by" in request.query
        )
        cost = 3 if heavy and "cvid" in request.query else 1
        if self._throttled(heavy, cost):
            self.stats.throttled_429 += 1
            return self._with_credits(json_response(_TOO_MANY, 429))
        self.credits.spend(cost)
        self.stats.credits_used += cost
        return self._with_credits(await self._in_flight_call(request, handler, heavy))

    def _throttled(self, heavy: bool, cost: int) -> bool:
        if self.faults.burst_429 > 0:
            self.faults.burst_429 -= 1
            return True
        if self._in_flight >= self.config.concurrency_cap:
            return True
        if heavy and self._heavy_in_flight >= self.config.heavy_cap:
            return True
        return not self.credits.can_spend(cost)

    async def _in_flight_call(self, request: web.Request, handler: Handler, heavy: bool) -> web.StreamResponse:
        self._in_flight += 1
        self._heavy_in_flight += heavy
        self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
        try:
            if self.faults.latency > 0:
                await self.config.sleep(self.faults.latency)
            faults, rng = self.faults, self.rng
            if faults.error_rate > 0 and rng.random() < faults.error_rate:
                self.stats.errors_500 += 1
                return json_response(_INTERNAL, 500)
            if faults.drop_rate > 0 and rng.random() < faults.drop_rate:
                self.stats.dropped += 1
                return _drop(request)
            response = await handler(request)
            if (
                faults.lost_response_rate > 0
                and request.method in _WRITE_METHODS
                and rng.random() < faults.lost_response_rate
            ):
                self.stats.lost_responses += 1
                return _drop(request)
            return response
        finally:
            self._in_flight -= 1
            self._heavy_in_flight -= heavy

    def _with_credits(self, response: web.StreamResponse) -> web.StreamResponse:
        if isinstance(response, _Dropped):
            return response
        remaining = self.credits.remaining_header()
        if remaining is not None:
            response.headers["X-API-CREDITS-REMAINING"] = remaining
        return response

    # -- OAuth ---------------------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.StreamResponse:
        """POST /oauth/v2/token: refresh_token grant, params in the form body or the query string."""
        self.stats.token_refreshes += 1
        params = dict(request.query)
        if request.can_read_body:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        refused = self.tokens.refresh(params)
        if refused is not None:
            return json_response(refused)
        self.stats.tokens_issued += 1
        return json_response(
            {
                "access_token": self.tokens.issue(params["refresh_token"]),
                "api_domain": f"{request.scheme}://{request.host}",
                "token_type": "Bearer",
                "expires_in": int(self.config.token_ttl),
            }
        )

    # -- shared checks -------------------------------------------------------------------------------

    def _version_error(self, request: web.Request, *, link_api: bool = False) -> web.Response | None:
        version = request.match_info["v"]
        if version not in (self.config.api_version, "v7"):
            return json_response(_NOT_FOUND, 404)
        if link_api and int(version[1:]) < 8:
            return error(
                400,
                "API_NOT_SUPPORTED",
                "the API is not supported in this version",
                {"supported_version": "v8"},
            )
        return None

    async def _body_items(self, request: web.Request, key: str, limit: int) -> list[Any] | web.Response:
        """The `key` array of a JSON body, or the top-level 400 Zoho answers for a bad or oversized one."""
        try:
            body = _DECODE(await request.read())
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

    def _record(self, request: web.Request, module: str | None = None) -> Record | web.Response:
        module = module or _MODULES.get(request.match_info["module"].lower())
        if module is None:
            return error(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
        record = self.world.record(request.match_info["record_id"], module)
        if record is None:
            return error(400, "INVALID_DATA", "the related id given seems to be invalid", {"api_name": "id"})
        return record

    # -- Get Emails of a Record ----------------------------------------------------------------------

    async def get_emails(self, request: web.Request) -> web.StreamResponse:
        """GET /crm/{v}/{module}/{record_id}/Emails: ten a page, newest first, opaque `index` cursor."""
        bad = self._version_error(request)
        if bad is not None:
            return bad
        record = self._record(request)
        if isinstance(record, web.Response):
            return record
        emails = self._filtered(record, request.query.get("type"), request.query.get("owner_id"))
        if isinstance(emails, web.Response):
            return emails
        offset = self._decode_index(record.id, request.query.get("index", "0"))
        if offset is None:
            return error(400, "INVALID_DATA", "the given index is invalid", {"param": "index"})
        page = emails[offset : offset + _PAGE]
        if not page:
            return web.Response(status=204)
        more = offset + _PAGE < len(emails)
        info = {
            "per_page": _PAGE,
            "next_index": self._encode_index(record.id, offset + _PAGE) if more else None,
            "count": len(page),
            "prev_index": self._encode_index(record.id, offset - _PAGE) if offset else "0",
            "more_records": more,
        }
        return json_response({"Emails": [self._list_item_wire(e) for e in page], "info": info})

    def _filtered(self, record: Record, kind: str | None, owner_id: str | None) -> list[Email] | web.Response:
        valid = {"sent_from_crm", "scheduled_in_crm", "drafts", "user_emails"}
        if record.module == "Accounts":
            valid |= {
                "all_contacts_sent_crm_emails",
                "all_contacts_scheduled_crm_emails",
                "all_contacts_draft_crm_emails",
            }
        if kind is not None and kind not in valid:
            return error(400, "INVALID_DATA", "the value for the type parameter is invalid", {"param": "type"})
        if owner_id is not None and kind != "user_emails":
            return error(400, "INVALID_DATA", "owner_id can be given only with type=user_emails", {"param": "owner_id"})
        emails = self.world.emails_of(record)
        if kind is None:
            return emails
        if kind in ("sent_from_crm", "all_contacts_sent_crm_emails"):
            return [e for e in emails if e.sent and e.source == "crm_email"]
        if kind == "user_emails":
            return [e for e in emails if e.source == "individual" and owner_id in (None, e.owner_id)]
        return []

    def _encode_index(self, record_id: str, offset: int) -> str:
        if offset <= 0:
            return "0"
        tail = f"{offset:016x}"
        return hashlib.blake2b(f"{record_id}:{tail}".encode(), key=self._index_key, digest_size=40).hexdigest() + tail

    def _decode_index(self, record_id: str, index: str) -> int | None:
        if index == "0":
            return 0
        try:
            offset = int(index[-16:], 16)
        except ValueError:
            return None
        return offset if len(index) == 96 and self._encode_index(record_id, offset) == index else None

    def _owner(self, user_id: str) -> dict[str, Any]:
        user = self.world.user(user_id)
        return {"name": user.name if user else None, "id": user_id}

    def _linked_record(self, message_id: str) -> dict[str, Any] | None:
        deal_id = self.world.link_of(message_id)
        deal = self.world.record(deal_id, "Deals") if deal_id else None
        if deal is None:
            return None
        return {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "name": deal.name, "id": deal.id}

    def _list_item_wire(self, e: Email) -> msgspec.Raw:
        # Pages are re-read far more often than links change: encode each list item once.
        if e.wire is None:
            e.wire = _ENCODE(self._list_item(e))
        return msgspec.Raw(e.wire)

    def _list_item(self, e: Email) -> dict[str, Any]:
        # Key order is the doc sample's.
        return {
            "cc": e.cc,
            "has_thread_attachment": False,
            "summary": None,
            "owner": self._owner(e.owner_id),
            "read": True,
            "subject": e.subject,
            "message_id": e.message_id,
            "has_attachment": False,
            "source": e.source,
            "sent": e.sent,
            "intent": None,
            "sentiment_info": None,
            "linked_record": self._linked_record(e.message_id),
            "related_to_record": None,
            "emotion": None,
            "from": e.from_,
            "to": e.to,
            "time": e.time_iso,
            "status": [{"type": "sent" if e.sent else "received"}],
        }

    async def get_email(self, request: web.Request) -> web.StreamResponse:
        """GET /crm/{v}/{module}/{record_id}/Emails/{message_id}: one email with its content."""
        bad = self._version_error(request)
        if bad is not None:
            return bad
        record = self._record(request)
        if isinstance(record, web.Response):
            return record
        e = self.world.email(request.match_info["message_id"])
        on_record = e is not None and (
            self.world.link_of(e.message_id) == record.id if record.module == "Deals" else e.record_id == record.id
        )
        if e is None or not on_record:
            return error(400, "INVALID_DATA", "the message id given seems to be invalid", {"api_name": "message_id"})
        full = {
            "attachments": [],
            "subject": e.subject,
            "editable": False,
            "mail_format": "html",
            "intent": None,
            "content": e.content,
            "sentiment_info": None,
            "sent_time": e.time_iso,
            "thread_id": e.thread_id,
            "emotion": None,
            "reply_to": {"user_name": None, "email": ""},
            "from": e.from_,
            "to": e.to,
            "status": [{"type": "sent" if e.sent else "received"}],
        }
        # Exactly the keys of the doc's sample: no linked_record, owner or message_id. Only Get Emails of a
        # Record shows where an email is linked, so clients must read link state from the list, not from here.
        return json_response({"Emails": [full]})

    # -- Link / Unlink Deal to Emails ----------------------------------------------------------------

    async def link_emails(self, request: web.Request) -> web.StreamResponse:
        """POST /crm/v8/Contacts/{id}/Emails/actions/link_record: up to 20 items, in order."""
        contact = await self._link_preamble(request)
        if isinstance(contact, web.Response):
            return contact
        items = await self._body_items(request, "Emails", _LINK_LIMIT)
        if isinstance(items, web.Response):
            return items
        results = [self._link_item(contact.id, item, i, None) for i, item in enumerate(items)]
        return item_status(results, "Emails")

    async def link_email(self, request: web.Request) -> web.StreamResponse:
        """POST .../Emails/{message_id}/actions/link_record: one item; success echoes the input item."""
        contact = await self._link_preamble(request)
        if isinstance(contact, web.Response):
            return contact
        items = await self._body_items(request, "Emails", 1)
        if isinstance(items, web.Response):
            return items
        result = self._link_item(contact.id, items[0], 0, request.match_info["message_id"])
        if result["status"] == "success":
            return json_response({"Emails": [items[0]]})
        return json_response({"Emails": [[result]]}, 400)

    async def _link_preamble(self, request: web.Request) -> Record | web.Response:
        bad = self._version_error(request, link_api=True)
        if bad is not None:
            return bad
        return self._record(request, "Contacts")

    def _link_item(self, contact_id: str, item: Any, i: int, path_message_id: str | None) -> dict[str, Any]:
        problem = _link_item_problem(item, i, path_message_id)
        if problem is not None:
            return problem
        message_id = path_message_id or item["message_id"]
        code, field = self.world.link_code(contact_id, message_id, item["linked_record"]["id"], item["owner"]["id"])
        if code == "SUCCESS":
            return _success({"message_id": message_id}, "email has been linked with the deal successfully")
        if code == "INVALID_DATA":
            return _item_error(code, "invalid data", field, i)
        message = (
            "the email is already linked" if code == "ALREADY_LINKED" else "the contact is not associated with the deal"
        )
        return {"code": code, "details": {"message_id": message_id}, "message": message, "status": "error"}

    async def unlink_emails(self, request: web.Request) -> web.StreamResponse:
        """DELETE .../Emails/actions/link_record?owner_id=&message_ids=a,b: up to 20 ids."""
        contact = await self._link_preamble(request)
        if isinstance(contact, web.Response):
            return contact
        raw = request.query.get("message_ids")
        bad = self._owner_param_error(request) or _message_ids_error(raw)
        if bad is not None:
            return bad
        assert raw is not None
        return item_status([self._unlink_item(contact.id, m) for m in raw.split(",")], "Emails")

    async def unlink_email(self, request: web.Request) -> web.StreamResponse:
        """DELETE .../Emails/{message_id}/actions/link_record?owner_id=: one id."""
        contact = await self._link_preamble(request)
        if isinstance(contact, web.Response):
            return contact
        bad = self._owner_param_error(request)
        if bad is not None:
            return bad
        return item_status([self._unlink_item(contact.id, request.match_info["message_id"])], "Emails")

    def _owner_param_error(self, request: web.Request) -> web.Response | None:
        owner_id = request.query.get("owner_id")
        if not owner_id:
            return error(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param": "owner_id"},
            )
        if self.world.user(owner_id) is None:
            return error(400, "INVALID_DATA", "the owner id given seems to be invalid", {"param": "owner_id"})
        return None

    def _unlink_item(self, contact_id: str, message_id: str) -> dict[str, Any]:
        if self.world.unlink_code(contact_id, message_id) == "SUCCESS":
            return _success({"message_id": message_id}, "email has been unlinked from the deal successfully")
        return {
            "code": "INVALID_DATA",
            "details": {"message_id": message_id},
            "message": "invalid data",
            "status": "error",
        }

    # -- Associate Email with a Record ---------------------------------------------------------------

    async def associate_email(self, request: web.Request) -> web.StreamResponse:
        """POST /crm/{v}/{module}/{record_id}/actions/associate_email: log new emails on a record."""
        bad = self._version_error(request)
        if bad is not None:
            return bad
        if _MODULES.get(request.match_info["module"].lower()) is None:
            return error(400, "INVALID_MODULE", "permission denied to access the api", {})
        record = self._record(request)
        if isinstance(record, web.Response):
            return record
        items = await self._body_items(request, "Emails", _LINK_LIMIT)
        if isinstance(items, web.Response):
            return items
        return item_status([self._associate_item(record, item, i) for i, item in enumerate(items)], "Emails")

    def _associate_item(self, record: Record, item: Any, i: int) -> dict[str, Any]:
        if not isinstance(item, dict):
            return _item_error("INVALID_DATA", "invalid data", "", i)
        for key in ("from", "to", "subject", "content", "date_time", "sent", "original_message_id"):
            if item.get(key) in (None, ""):
                return _item_error("MANDATORY_NOT_FOUND", "required field not found", key, i)
        when = _parse_time(item["date_time"])
        if when is None or not isinstance(item["sent"], bool):
            return _item_error("INVALID_DATA", "invalid data", "date_time" if when is None else "sent", i)
        owner_id = _nested_id(item, "owner") or self.world.current_user().id
        if self.world.user(owner_id) is None:
            return _item_error("INVALID_DATA", "Provide a Proper owner id", "owner", i)
        linked = self._associate_target(item, i)
        if isinstance(linked, dict):
            return linked
        if not self.world.claim_original(record.id, str(item["original_message_id"])):
            return _item_error("DUPLICATE_DATA", "duplicate data", "original_message_id", i)
        return _success(
            {"message_id": self._store_associated(record, linked, item, owner_id, when)},
            "Your mail has been added successfully",
        )

    def _associate_target(self, item: dict[str, Any], i: int) -> Record | dict[str, Any] | None:
        link = item.get("linked_record")
        if link is None:
            return None
        module = (
            link.get("module", {}).get("api_name")
            if isinstance(link, dict) and isinstance(link.get("module"), dict)
            else None
        )
        if module not in EMAIL_MODULES:
            return _item_error("INVALID_DATA", "the api_name given seems to be invalid", "linked_record", i)
        target = self.world.record(str(link.get("id")), module)
        if target is None:
            return _item_error("INVALID_DATA", "the parent entity id given seems to be invalid", "linked_record", i)
        return target

    def _store_associated(
        self, record: Record, linked: Record | None, item: dict[str, Any], owner_id: str, when: float
    ) -> str:
        deal = record if record.module == "Deals" else linked if linked and linked.module == "Deals" else None
        home = record if record.module != "Deals" else linked if linked and linked.module != "Deals" else None
        email = self.world.add_email(
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
            self.world.link_directly(email.message_id, deal.id)
        return email.message_id

    # -- Update Related Records using External ID ----------------------------------------------------

    async def update_related(self, request: web.Request) -> web.StreamResponse:
        """PUT /crm/{v}/{module}/{id_or_external}/{related_list} with optional X-EXTERNAL."""
        bad = self._version_error(request)
        if bad is not None:
            return bad
        module = _MODULES.get(request.match_info["module"].lower())
        related = _MODULES.get(request.match_info["related"].lower())
        if module not in ("Contacts", "Deals") or related not in ("Contacts", "Deals") or module == related:
            return json_response(_NOT_FOUND, 404)
        external = _parse_external(request.headers.get("X-EXTERNAL", ""))
        ref = request.match_info["record_id"]
        parent = self.world.by_external(module, ref) if module in external else self.world.record(ref, module)
        if parent is None:
            field = external.get(module, "id")
            return error(400, "INVALID_DATA", "the id given seems to be invalid", {"api_name": field})
        items = await self._body_items(request, "data", 100)
        if isinstance(items, web.Response):
            return items
        results = [self._relate_item(parent, related, external.get(related), item, i) for i, item in enumerate(items)]
        return item_status(results, "data", nest_failures=False)

    def _relate_item(self, parent: Record, related: str, field: str | None, item: Any, i: int) -> dict[str, Any]:
        key = field or "id"
        value = item.get(key) if isinstance(item, dict) else None
        if value in (None, ""):
            return _item_error("MANDATORY_NOT_FOUND", "required field not found", key, i, root="data")
        other = self.world.by_external(related, str(value)) if field else self.world.record(str(value), related)
        if other is None:
            return _item_error("INVALID_DATA", "the id given seems to be invalid", key, i, root="data")
        contact, deal = (parent, other) if parent.module == "Contacts" else (other, parent)
        self.world.associate(contact.id, deal.id)
        details = {field: value, "id": other.id} if field else {"id": other.id}
        return _success(details, "relation added")

    # -- Get Records ---------------------------------------------------------------------------------

    async def get_records(self, request: web.Request) -> web.StreamResponse:
        """GET /crm/{v}/{module}?fields=..: page/per_page for the first 2,000, page_token beyond."""
        bad = self._version_error(request)
        if bad is not None:
            return bad
        module = _MODULES.get(request.match_info["module"].lower())
        if module is None:
            return json_response(_NOT_FOUND, 404)
        query = _RecordsQuery.parse(request.query)
        if isinstance(query, web.Response):
            return query
        offset = self._records_offset(module, query)
        if isinstance(offset, web.Response):
            return offset
        records = self.world.records_of(module)
        page = _slice(records, offset, query.per_page, query.descending)
        if not page:
            return web.Response(status=204)
        more = offset + len(page) < len(records)
        expiry = time.time() + _CREDIT_WINDOW
        info = {
            "per_page": query.per_page,
            "count": len(page),
            "page": offset // query.per_page + 1,
            "sort_by": query.sort_by,
            "sort_order": "desc" if query.descending else "asc",
            "more_records": more,
            "next_page_token": self._page_token(module, query, offset + len(page)) if more else None,
            "previous_page_token": self._page_token(module, query, offset - query.per_page) if offset else None,
            "page_token_expiry": datetime.datetime.fromtimestamp(expiry, datetime.UTC).isoformat(timespec="seconds"),
        }
        return json_response({"data": [_project(r, query.fields) for r in page], "info": info})

    def _records_offset(self, module: str, query: _RecordsQuery) -> int | web.Response:
        if query.page_token is None:
            if query.page * query.per_page > 2000:
                return error(
                    400,
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "cannot fetch more than 2000 records using page; use page_token",
                    {"limit": 2000},
                )
            return (query.page - 1) * query.per_page
        decoded = self._read_page_token(query.page_token)
        if decoded is None:
            return error(400, "INVALID_DATA", "invalid page_token", {"param": "page_token"})
        offset, expiry, binding = decoded
        if binding != self._binding(module, query):
            return error(
                400,
                "TOKEN_BOUND_DATA_MISMATCH",
                "the page_token is bound to other parameters",
                {"param": "page_token"},
            )
        if expiry <= self.config.clock():
            return error(400, "EXPIRED_VALUE", "the page_token has expired", {"param": "page_token"})
        if offset >= 100_000:
            return error(400, "PAGINATION_LIMIT_EXCEEDED", "cannot fetch more than 100000 records", {"limit": 100_000})
        return offset

    def _binding(self, module: str, query: _RecordsQuery) -> str:
        raw = f"{module}|{','.join(query.fields)}|{query.per_page}|{query.sort_by}|{query.descending}"
        return hashlib.blake2b(raw.encode(), key=self._index_key, digest_size=8).hexdigest()

    def _page_token(self, module: str, query: _RecordsQuery, offset: int) -> str:
        expiry = int(self.config.clock() + _CREDIT_WINDOW)
        body = f"{max(offset, 0)}.{expiry}.{self._binding(module, query)}"
        sig = hashlib.blake2b(body.encode(), key=self._index_key, digest_size=8).hexdigest()
        return binascii.hexlify(f"{body}.{sig}".encode()).decode()

    def _read_page_token(self, token: str) -> tuple[int, float, str] | None:
        try:
            offset, expiry, binding, sig = binascii.unhexlify(token).decode().split(".")
        except (ValueError, UnicodeDecodeError):
            return None
        body = f"{offset}.{expiry}.{binding}"
        if hashlib.blake2b(body.encode(), key=self._index_key, digest_size=8).hexdigest() != sig:
            return None
        return int(offset), float(expiry), binding


# -- pure helpers --------------------------------------------------------------------------------------


def _success(details: dict[str, Any], message: str) -> dict[str, Any]:
    return {"code": "SUCCESS", "details": details, "message": message, "status": "success"}


def _item_error(code: str, message: str, field: str, i: int, root: str = "Emails") -> dict[str, Any]:
    path = f"$.{root}[{i}]" + (f".{field}" if field else "")
    details = {"api_name": field.rsplit(".", 1)[-1], "json_path": path} if field else {"json_path": path}
    return {"code": code, "details": details, "message": message, "status": "error"}


def _nested_id(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if isinstance(value, dict) and value.get("id") not in (None, ""):
        return str(value["id"])
    return None


def _is_numeric_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).isdigit()


def _link_item_problem(item: Any, i: int, path_message_id: str | None) -> dict[str, Any] | None:
    """Validation of one link item, in the order Zoho lists its keys; None when the item is well formed."""
    if not isinstance(item, dict):
        return _item_error("INVALID_DATA", "invalid data", "", i)
    owner = item.get("owner")
    if not isinstance(owner, dict) or owner.get("id") in (None, ""):
        return _item_error("MANDATORY_NOT_FOUND", "required field not found", "owner", i)
    if not _is_numeric_id(owner["id"]):
        return _item_error("INVALID_DATA", "invalid data", "owner.id", i)
    message_id = path_message_id or item.get("message_id")
    if message_id in (None, ""):
        return _item_error("MANDATORY_NOT_FOUND", "required field not found", "message_id", i)
    if not isinstance(message_id, str) or not message_id.isalnum() or len(message_id) > 500:
        return _item_error("INVALID_DATA", "invalid data", "message_id", i)
    return _linked_record_problem(item.get("linked_record"), i)


def _linked_record_problem(link: Any, i: int) -> dict[str, Any] | None:
    if not isinstance(link, dict):
        return _item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record", i)
    module = link.get("module")
    if not isinstance(module, dict) or module.get("api_name") in (None, ""):
        return _item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record.module", i)
    if module["api_name"] != "Deals":
        return _item_error("INVALID_MODULE", "the module name given seems to be invalid", "linked_record.module", i)
    if module.get("id") not in (None, DEALS_MODULE_ID):
        return _item_error("AMBIGUITY_DURING_PROCESSING", "ambiguity during processing", "linked_record.module.id", i)
    if link.get("id") in (None, ""):
        return _item_error("MANDATORY_NOT_FOUND", "required field not found", "linked_record.id", i)
    if not _is_numeric_id(link["id"]):
        return _item_error("INVALID_DATA", "invalid data", "linked_record.id", i)
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
    if len(raw) > _UNLINK_CHARS or len(ids) > _LINK_LIMIT:
        return error(
            400,
            "LIMIT_EXCEEDED",
            "the number of message ids exceeds the limit",
            {"param": "message_ids", "limit": _LINK_LIMIT, "max_length": _UNLINK_CHARS},
        )
    if not all(m.isalnum() for m in ids):
        return error(400, "INVALID_DATA", "invalid data", {"param": "message_ids"})
    return None


def _parse_time(value: Any) -> float | None:
    try:
        return datetime.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _parse_external(header: str) -> dict[str, str]:
    """X-EXTERNAL "Contacts.External_Contact_ID,Deals.External_Deal_ID" -> {module: field}."""
    fields: dict[str, str] = {}
    for part in header.split(","):
        module, _, field = part.strip().partition(".")
        canonical = _MODULES.get(module.lower())
        if canonical and field:
            fields[canonical] = field
    return fields


_FIELDS: dict[str, dict[str, Callable[[Record], Any]]] = {
    "Contacts": {
        "Last_Name": lambda r: r.name,
        "Full_Name": lambda r: r.name,
        "Email": lambda r: r.email,
        "External_Contact_ID": lambda r: r.external_id,
    },
    "Deals": {
        "Deal_Name": lambda r: r.name,
        "Stage": lambda r: r.stage,
        "External_Deal_ID": lambda r: r.external_id,
    },
    "Leads": {"Last_Name": lambda r: r.name, "Full_Name": lambda r: r.name, "Email": lambda r: r.email},
    "Accounts": {"Account_Name": lambda r: r.name},
}


def _project(record: Record, fields: tuple[str, ...]) -> dict[str, Any]:
    getters = _FIELDS.get(record.module, {})
    out: dict[str, Any] = {"id": record.id}
    for field in fields:
        getter = getters.get(field)
        if getter is not None:
            out[field] = getter(record)
    return out


def _slice(records: list[Record], offset: int, count: int, descending: bool) -> list[Record]:
    if not descending:
        return records[offset : offset + count]
    end = len(records) - offset
    return records[max(end - count, 0) : max(end, 0)][::-1]


class _RecordsQuery:
    """Get Records' query parameters, validated."""

    __slots__ = ("descending", "fields", "page", "page_token", "per_page", "sort_by")

    def __init__(self) -> None:
        self.fields: tuple[str, ...] = ()
        self.per_page = 200
        self.page = 1
        self.page_token: str | None = None
        self.sort_by = "id"
        self.descending = True

    @classmethod
    def parse(cls, query: Any) -> _RecordsQuery | web.Response:
        q = cls()
        raw_fields = query.get("fields")
        if not raw_fields:
            return error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
        q.fields = tuple(f for f in raw_fields.split(",") if f)
        if len(q.fields) > 50:
            return error(
                400,
                "LIMIT_EXCEEDED",
                "the number of fields exceeds the limit",
                {"param": "fields", "limit": 50},
            )
        if ("page" in query and "page_token" in query) or ("cvid" in query and "sort_by" in query):
            return error(400, "AMBIGUITY_DURING_PROCESSING", "ambiguity during processing", {})
        try:
            q.per_page = int(query.get("per_page", 200))
            q.page = int(query.get("page", 1))
        except ValueError:
            return error(400, "INVALID_DATA", "invalid data", {"param": "page"})
        if not 1 <= q.per_page <= 200 or q.page < 1:
            return error(400, "INVALID_DATA", "invalid data", {"param": "per_page" if q.page >= 1 else "page"})
        q.page_token = query.get("page_token")
        q.sort_by = query.get("sort_by", "id")
        if q.sort_by not in ("id", "Created_Time", "Modified_Time") or query.get("sort_order", "desc") not in (
            "asc",
            "desc",
        ):
            return error(400, "INVALID_DATA", "invalid data", {"param": "sort_by"})
        q.descending = query.get("sort_order", "desc") == "desc"
        return q
