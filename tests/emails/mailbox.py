"""Zoho's link state for the Emails unit tests, behind MockTransport: a mailbox that links, unlinks and lists,
the items that go into it, and a pager of scripted Get Emails pages."""

from __future__ import annotations

import json
from typing import Any

from zcrm_async import Request, Response, RetryPolicy, TransportError, ZohoCRM
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.testing import MockTransport, json_response

TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"
API = "https://www.zohoapis.com/crm/v8"
OWNER = "5843104000000424672"
DEAL = "5843104000004382122"
OTHER_DEAL = "5843104000004382999"
CONTACT_A = "5843104000000425349"
CONTACT_B = "5843104000000425350"
DEALS_MODULE_ID = "5843104000000003735"


def mid(n: int, width: int = 64) -> str:
    return f"{n:0{width}x}"


def link(n: int, contact: str = CONTACT_A, **overrides: Any) -> DealLink:
    fields: dict[str, Any] = {"contact_id": contact, "message_id": mid(n), "deal_id": DEAL, "owner_id": OWNER}
    fields.update(overrides)
    return DealLink(**fields)


def unlink(n: int, contact: str = CONTACT_A, width: int = 64, **overrides: Any) -> DealUnlink:
    fields: dict[str, Any] = {"contact_id": contact, "message_id": mid(n, width), "owner_id": OWNER}
    fields.update(overrides)
    return DealUnlink(**fields)


def ok(message_id: str, code: str = "SUCCESS") -> dict[str, Any]:
    return {"code": code, "details": {"message_id": message_id}, "message": code.lower(),
            "status": "success" if code == "SUCCESS" else "error"}


class FakeMailbox:
    """Zoho's link state for one test: message_id -> deal id, and the requests it answered."""

    def __init__(self) -> None:
        self.linked: dict[str, str] = {}
        self.api: list[Request] = []
        self.lose_next_link_responses = 0
        self.fail_next_link_with_500 = 0

    def __call__(self, request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        path = request.url.removeprefix(API)
        if path == "/settings/modules/Deals":  # the client learns the module id link bodies need (not counted)
            return json_response(200, {"modules": [{"api_name": "Deals", "id": DEALS_MODULE_ID}]})
        self.api.append(request)
        if request.method == "POST" and path.endswith("/Emails/actions/link_record"):
            return self.link(request)
        if request.method == "DELETE":
            assert request.params is not None
            ids = request.params["message_ids"].split(",")
            for message_id in ids:
                self.linked.pop(message_id, None)
            return json_response(200, {"Emails": [ok(m) for m in ids]})
        if request.method == "GET" and path.endswith("/Emails"):
            # Get Emails of a Record: the only answer that shows where emails are linked.
            emails = [
                {"message_id": m, "linked_record": {"module": {"api_name": "Deals"}, "id": d, "name": "Deal"}}
                for m, d in self.linked.items()
            ]
            return json_response(200, {"Emails": emails, "info": {"more_records": False, "count": len(emails)}})
        if request.method == "GET" and path.startswith("/Deals/"):
            # Get Record of a deal (relink's check before unlinking): every deal here is contact A's.
            deal = {"id": path.removeprefix("/Deals/"), "Contact_Name": {"id": CONTACT_A, "name": "A"}}
            return json_response(200, {"data": [deal]})
        raise AssertionError(f"unexpected {request.method} {path}")

    def link(self, request: Request) -> Response:
        assert request.content is not None
        results = []
        for item in json.loads(request.content)["Emails"]:
            message_id, deal = item["message_id"], item["linked_record"]["id"]
            if message_id in self.linked:
                results.append(ok(message_id, "ALREADY_LINKED"))
            else:
                self.linked[message_id] = deal
                results.append(ok(message_id))
        if self.lose_next_link_responses:
            self.lose_next_link_responses -= 1
            raise TransportError("connection reset after the request was applied")
        if self.fail_next_link_with_500:
            self.fail_next_link_with_500 -= 1
            return json_response(500, {"code": "INTERNAL_ERROR", "details": {}, "message": "x", "status": "error"})
        status = 200 if all(r["code"] == "SUCCESS" for r in results) else 400
        return json_response(status, {"Emails": results})


def make(mailbox: FakeMailbox) -> tuple[ZohoCRM, MockTransport]:
    transport = MockTransport(mailbox)
    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=transport,
                  api_domain="https://www.zohoapis.com", retry=RetryPolicy.no_wait(attempts=3))
    return crm, transport

def pager(pages: dict[str | None, Response]) -> tuple[ZohoCRM, list[str | None]]:
    asked: list[str | None] = []

    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        index = (request.params or {}).get("index")
        asked.append(index)
        return pages[index]

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(handler), retry=RetryPolicy.no_wait())
    return crm, asked


def page(ids: list[str], next_index: str | None, more: bool) -> Response:
    info: dict[str, Any] = {"per_page": 10, "count": len(ids), "more_records": more, "prev_index": "0"}
    if next_index is not None:
        info["next_index"] = next_index
    return json_response(200, {"Emails": [{"message_id": i} for i in ids], "info": info})


async def collect(crm: ZohoCRM) -> list[str]:
    return [email.message_id async for email in crm.emails.iterate("Contacts", CONTACT_A)]
