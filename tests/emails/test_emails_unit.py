"""The Emails resource through MockTransport: validation before sending, chunking, replay checks, paging."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from zcrm_async import (
    AuthenticationError,
    InvalidRequestError,
    PaginationError,
    Request,
    Response,
    RetryPolicy,
    TransportError,
    ZohoCRM,
)
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.models import Address, AssociateEmail
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio

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


# -- validation: nothing is sent -------------------------------------------------------------------------------

BAD_LINKS = [
    (link(3, contact="12x"), "contact_id", "must be a numeric Zoho id"),
    (link(3, contact=""), "contact_id", "is missing"),
    (link(3, deal_id="deal-1"), "deal_id", "must be a numeric Zoho id"),
    (link(3, deal_id=None), "deal_id", "is missing"),
    (link(3, owner_id=""), "owner_id", "is missing"),
    (link(3, owner_id=None), "owner_id", "is missing"),
    (link(3, owner_id="-5"), "owner_id", "must be a numeric Zoho id"),
    (link(3, owner_id=True), "owner_id", "must be a numeric Zoho id"),
    (link(3, message_id="abc-def"), "message_id", "has characters outside"),
    (link(3, message_id="abc def"), "message_id", "has characters outside"),
    (link(3, message_id="abc\n"), "message_id", "has characters outside"),
    (link(3, message_id="é" * 3), "message_id", "has characters outside"),
    (link(3, message_id="a" * 501), "message_id", "is 501 characters long"),
    (link(3, message_id=""), "message_id", "is missing"),
    (link(3, message_id=12345), "message_id", "must be a string"),
    (link(3, deal_name="D" * 256), "deal_name", "is 256 characters long; Zoho allows 255"),
    # a huge value is quoted in part, never whole
    (link(3, contact="9" * 100_000 + "x"), "contact_id", r"must be a numeric Zoho id, got '9{40}'\.\.\. \(100001 "),
]


@pytest.mark.parametrize(("bad", "field", "problem"), BAD_LINKS)
async def test_a_bad_link_item_is_refused_by_index_and_field_and_nothing_is_sent(
    bad: DealLink, field: str, problem: str
) -> None:
    crm, transport = make(FakeMailbox())
    items = [link(0), link(1), link(2), bad, link(4)]

    with pytest.raises(ValueError, match=f"^item 3: {field} {problem}"):
        await crm.emails.link_deal(items)

    assert transport.requests == []  # not even a token call


async def test_a_500_character_message_id_is_accepted() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0, message_id="a" * 500)])
    assert result.ok


async def test_empty_input_is_refused_and_nothing_is_sent() -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="empty"):
        await crm.emails.link_deal([])
    with pytest.raises(ValueError, match="empty"):
        await crm.emails.unlink_deal(iter([]))
    assert transport.requests == []


@pytest.mark.parametrize(
    ("bad", "field"),
    [(unlink(2, contact="x"), "contact_id"), (unlink(2, owner_id=""), "owner_id"),
     (unlink(2, message_id="a,b"), "message_id"), (unlink(2, message_id="a" * 501), "message_id")],
)
async def test_a_bad_unlink_item_is_refused_and_nothing_is_sent(bad: DealUnlink, field: str) -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match=f"^item 2: {field} "):
        await crm.emails.unlink_deal([unlink(0), unlink(1), bad])
    assert transport.requests == []


async def test_single_link_validates_before_sending() -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="message_id has characters outside"):
        await crm.emails.link(CONTACT_A, "not/ok", deal_id=DEAL, owner_id=OWNER)
    assert transport.requests == []


@pytest.mark.parametrize("chunk_size", [0, 21])
async def test_chunk_size_beyond_zohos_limit_is_refused(chunk_size: int) -> None:
    crm, transport = make(FakeMailbox())
    with pytest.raises(ValueError, match="between 1 and 20"):
        await crm.emails.link_deal([link(0)], chunk_size=chunk_size)
    assert transport.requests == []


# -- link chunking -------------------------------------------------------------------------------------------


async def test_45_links_for_one_contact_and_3_for_another_take_4_requests() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [link(n, CONTACT_B if n in (10, 30, 47) else CONTACT_A) for n in range(48)]

    result = await crm.emails.link_deal(items)

    posts = [r for r in mailbox.api if r.method == "POST"]
    assert len(posts) == 4 and len(mailbox.api) == 4
    sizes = sorted((r.url, len(json.loads(r.content or b"")["Emails"])) for r in posts)
    assert sizes == sorted([
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 20),
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 20),
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 5),
        (f"{API}/Contacts/{CONTACT_B}/Emails/actions/link_record", 3),
    ])
    assert [r.item for r in result] == items
    assert result.ok and result.counts == {"SUCCESS": 48}
    first_body = json.loads(posts[0].content or b"")["Emails"][0]
    assert first_body["linked_record"] == {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "id": DEAL}
    assert first_body["owner"] == {"id": OWNER}


async def test_a_link_chunk_with_refusals_reports_each_item() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = OTHER_DEAL
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0), link(1), link(2)])
    assert [r.code for r in result] == ["SUCCESS", "ALREADY_LINKED", "SUCCESS"]
    assert not any(r.method == "GET" for r in mailbox.api)  # not a replay: Zoho's answer stands


# -- unlink chunking -----------------------------------------------------------------------------------------


async def test_unlink_message_ids_are_chunked_by_count() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(n, width=96) for n in range(45)]

    result = await crm.emails.unlink_deal(items)

    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert len(deletes) == 3
    batches = [r.params["message_ids"].split(",") for r in deletes if r.params]
    assert sorted(len(b) for b in batches) == [5, 20, 20]
    assert sorted(i for b in batches for i in b) == sorted(item.message_id for item in items)
    for request in deletes:
        assert request.params is not None
        assert request.params["owner_id"] == OWNER
        assert len(request.params["message_ids"]) <= 2000
        assert request.url == f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record"
    assert result.ok and [r.item for r in result] == items


async def test_unlink_message_ids_are_chunked_by_characters() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(0, message_id=f"{n:0500d}") for n in range(9)]

    await crm.emails.unlink_deal(items)

    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert [len(r.params["message_ids"].split(",")) for r in deletes if r.params] == [3, 3, 3]
    assert all(r.params is not None and len(r.params["message_ids"]) <= 2000 for r in deletes)
    # the query string Zoho receives stays within its 2,000-character parameter too
    for r in deletes:
        assert r.params is not None
        assert len(urllib.parse.unquote(urllib.parse.urlencode({"m": r.params["message_ids"]}))) - 2 <= 2000


async def test_unlinks_are_grouped_by_contact_and_owner() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(0), unlink(1, contact=CONTACT_B), unlink(2, owner_id="5843104000000424673"), unlink(3)]
    result = await crm.emails.unlink_deal(items)
    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert len(deletes) == 3
    assert result.ok and [r.item for r in result] == items


# -- replays -------------------------------------------------------------------------------------------------


async def test_a_replayed_link_answered_already_linked_is_verified_and_reported_success() -> None:
    mailbox = FakeMailbox()
    mailbox.lose_next_link_responses = 1  # Zoho links, the response is lost, the retry hears ALREADY_LINKED
    crm, _ = make(mailbox)

    result = await crm.emails.link_deal([link(0), link(1)])

    assert [(r.code, r.status) for r in result] == [("SUCCESS", "success")] * 2
    assert all(r.message == "verified after a retry" for r in result)
    assert [r.method for r in mailbox.api] == ["POST", "POST", "GET"]  # one list read-back for the chunk
    assert mailbox.api[-1].url.endswith(f"/Contacts/{CONTACT_A}/Emails")  # the list shows links, one email not
    assert all(r.attempts == 3 for r in result)  # two tries and the read-back


async def test_a_link_applied_before_a_500_is_verified_on_the_retry() -> None:
    mailbox = FakeMailbox()
    mailbox.fail_next_link_with_500 = 1
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0)])
    assert result[0].code == "SUCCESS"
    assert [r.method for r in mailbox.api] == ["POST", "POST", "GET"]


async def test_a_replayed_already_linked_to_another_deal_stays_a_failure() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = OTHER_DEAL  # linked elsewhere before we started
    mailbox.lose_next_link_responses = 1
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0), link(1)])
    assert [r.code for r in result] == ["SUCCESS", "ALREADY_LINKED"]


async def test_a_single_replayed_link_is_verified() -> None:
    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        if request.method == "POST":
            calls.append(request)
            if len(calls) == 1:
                raise TransportError("reset")
            return json_response(400, {"Emails": [ok(mid(0), "ALREADY_LINKED")]})
        linked = {"message_id": mid(0), "linked_record": {"module": {"api_name": "Deals"}, "id": DEAL}}
        return json_response(200, {"Emails": [linked], "info": {"more_records": False}})

    calls: list[Request] = []
    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(handler), retry=RetryPolicy.no_wait())
    result = await crm.emails.link(CONTACT_A, mid(0), deal_id=DEAL, owner_id=OWNER, deals_module_id=DEALS_MODULE_ID)
    assert result.code == "SUCCESS"
    assert calls[0].url.endswith(f"/Contacts/{CONTACT_A}/Emails/{mid(0)}/actions/link_record")
    assert "message_id" not in json.loads(calls[0].content or b"")["Emails"][0]


async def test_a_link_chunk_without_any_response_fails_its_items_only() -> None:
    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        if CONTACT_B in request.url:
            raise TransportError("unreachable")
        items = json.loads(request.content or b"")["Emails"]
        return json_response(200, {"Emails": [ok(item["message_id"]) for item in items]})

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(handler), retry=RetryPolicy.no_wait(attempts=2))
    result = await crm.emails.link_deal([link(0), link(1, CONTACT_B), link(2)], deals_module_id=DEALS_MODULE_ID)
    assert [r.code for r in result] == ["SUCCESS", "TRANSPORT_ERROR", "SUCCESS"]


# -- iterate -------------------------------------------------------------------------------------------------


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


async def test_iterate_follows_next_index_until_more_records_is_false() -> None:
    crm, asked = pager({
        None: page(["a", "b"], "idx1", True),
        "idx1": page(["c"], "idx2", True),
        "idx2": page(["d"], "idx3", False),
    })
    assert await collect(crm) == ["a", "b", "c", "d"]
    assert asked == [None, "idx1", "idx2"]


async def test_iterate_stops_on_204() -> None:
    crm, asked = pager({None: page(["a"], "idx1", True), "idx1": Response(204, {}, b"")})
    assert await collect(crm) == ["a"]
    assert asked == [None, "idx1"]


async def test_iterate_fails_clearly_on_a_repeated_cursor() -> None:
    crm, asked = pager({
        None: page(["a"], "idx1", True),
        "idx1": page(["b"], "idx2", True),
        "idx2": page(["c"], "idx1", True),  # a cursor seen before: following it would loop forever
    })
    with pytest.raises(PaginationError, match="cursor it gave before"):
        await collect(crm)
    assert asked == [None, "idx1", "idx2"]


async def test_iterate_fails_clearly_on_a_cursor_that_points_at_itself() -> None:
    crm, asked = pager({None: page(["a"], "idx1", True), "idx1": page(["b"], "idx1", True)})
    with pytest.raises(PaginationError):
        await collect(crm)
    assert asked == [None, "idx1"]


async def test_iterate_fails_clearly_when_fresh_cursors_never_end() -> None:
    asked: list[str | None] = []

    def endless(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        index = (request.params or {}).get("index")
        asked.append(index)
        return page([f"m{len(asked)}"], f"idx{len(asked)}", True)

    crm = ZohoCRM(client_id="1", client_secret="2", refresh_token="3", transport=MockTransport(endless),
                  retry=RetryPolicy.no_wait())  # fmt: skip
    got: list[str] = []
    with pytest.raises(PaginationError, match="more pages after 50"):
        async for email in crm.emails.iterate("Contacts", CONTACT_A, max_pages=50):
            got.append(email.message_id)
    assert len(got) == 50 and len(asked) == 50


async def test_page_passes_type_and_owner() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        seen.append(request)
        return page([], None, False)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=MockTransport(handler))
    await crm.emails.page("Contacts", CONTACT_A, type="user_emails", owner_id=OWNER, index="abc")
    assert seen[0].params == {"type": "user_emails", "owner_id": OWNER, "index": "abc"}
    with pytest.raises(ValueError, match="owner_id is only allowed"):
        await crm.emails.page("Contacts", CONTACT_A, owner_id=OWNER)
    with pytest.raises(ValueError, match="type must be one of"):
        await crm.emails.page("Contacts", CONTACT_A, type="spam")
    assert len(seen) == 1


# -- relink and associate ------------------------------------------------------------------------------------


async def test_relink_moves_an_email_linked_elsewhere() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = OTHER_DEAL
    crm, _ = make(mailbox)

    result = await crm.emails.relink([link(0), link(1), link(2)])

    assert [r.code for r in result] == ["SUCCESS"] * 3
    assert mailbox.linked == {mid(0): DEAL, mid(1): DEAL, mid(2): DEAL}
    # read back, then the deal's contact read, before unlinking
    assert [r.method for r in mailbox.api] == ["POST", "GET", "GET", "DELETE", "POST"]
    assert result[1].attempts == 4 and result[0].attempts == 1


async def test_relink_leaves_an_email_already_on_the_intended_deal_alone() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = DEAL
    crm, _ = make(mailbox)

    result = await crm.emails.relink([link(0), link(1)])

    assert [(r.code, r.message) for r in result] == [("SUCCESS", "success"), ("SUCCESS", "already linked to this deal")]
    assert [r.method for r in mailbox.api] == ["POST", "GET"]  # never unlinked: a correct link is not undone


async def test_a_replayed_associate_answered_duplicate_data_is_success() -> None:
    posts: list[Request] = []

    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        posts.append(request)
        if len(posts) == 1:
            return json_response(502, None)  # applied, but the gateway lost the answer
        return json_response(400, {"Emails": [{"code": "DUPLICATE_DATA", "details": {}, "message": "duplicate data",
                                               "status": "error"}]})

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(handler), retry=RetryPolicy.no_wait())
    email = AssociateEmail(from_=Address(email="a@example.com"), to=[Address(email="b@example.com")],
                           subject="s", content="c", date_time="2018-06-12T12:12:12+05:30", sent=True,
                           original_message_id="1234534dead-asds3322w243")

    result = await crm.emails.associate_emails("Deals", "4876876000000333267", [email])

    assert result[0].code == "SUCCESS"
    assert posts[0].url.endswith("/Deals/4876876000000333267/actions/associate_email")


# -- iterate_many --------------------------------------------------------------------------------------------


FAILING = {"1", "11", "12", "14", "15"}  # records whose mailbox is syncing (CANNOT_PROCESS)


def failing_pages() -> ZohoCRM:
    async def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        await anyio.lowlevel.checkpoint()
        record_id = request.url.split("/")[-2]
        if record_id not in FAILING:
            return page([f"m{record_id}"], None, False)
        return json_response(400, {"code": "CANNOT_PROCESS", "details": {}, "message": "mailbox syncing",
                                   "status": "error"})

    return ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                   transport=MockTransport(handler), retry=RetryPolicy.no_wait())


async def test_iterate_many_yields_every_records_emails() -> None:
    crm, _ = pager({None: page(["a", "b"], "i1", True), "i1": page(["c"], None, False)})
    got: dict[str, list[str]] = {}
    async with crm.emails.iterate_many("Contacts", ["21", "22", "23"], concurrency=2) as stream:
        async for record_id, email in stream:
            got.setdefault(record_id, []).append(email.message_id)
    assert got == {"21": ["a", "b", "c"], "22": ["a", "b", "c"], "23": ["a", "b", "c"]}


async def test_iterate_many_holds_at_most_buffer_emails_in_whole_pages_for_a_slow_reader() -> None:
    ten = [f"m{i}" for i in range(10)]
    crm, asked = pager({None: page(ten, "i1", True), "i1": page(ten, None, False)})
    records = [str(21 + i) for i in range(20)]  # 40 pages, if nothing held the workers back
    async with crm.emails.iterate_many("Contacts", records, concurrency=2, buffer=25) as stream:
        first = await anext(stream)
        for _ in range(20):  # the reader stalls: let the workers fill what they may
            await anyio.lowlevel.checkpoint()
        # 3 pages of 10 cover 25 emails in the buffer; 1 page being read; each of 2 workers holding 1 page
        assert len(asked) <= 3 + 1 + 2
        rest = [pair async for pair in stream]
    assert first == ("21", first[1]) and first[1].message_id == "m0"
    assert len(rest) == 20 * 20 - 1 and len(asked) == 40


async def test_iterate_many_raises_one_failure_as_itself() -> None:
    crm = failing_pages()
    with pytest.raises(InvalidRequestError, match="mailbox syncing"):
        async with crm.emails.iterate_many("Contacts", ["13", "1", "23"], concurrency=1) as stream:
            async for _ in stream:
                pass


async def test_iterate_many_with_several_failures_at_once() -> None:
    crm = failing_pages()
    with pytest.raises(InvalidRequestError) as info:
        async with crm.emails.iterate_many("Contacts", ["11", "12", "14", "15"], concurrency=4) as stream:
            async for _ in stream:
                pass
    assert all("also failed at the same time: InvalidRequestError" in note for note in info.value.__notes__ or [])


async def test_an_item_zoho_did_not_answer_for_is_read_back() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    real_link = mailbox.link

    def answer_only_the_first(request: Request) -> Response:
        real_link(request)  # both are linked...
        return json_response(200, {"Emails": [ok(mid(0))]})  # ...but only the first is accounted for

    mailbox.link = answer_only_the_first  # type: ignore[method-assign]
    result = await crm.emails.link_deal([link(0), link(1)])
    assert [(r.code, r.message) for r in result] == [("SUCCESS", "success"), ("SUCCESS", "verified by reading it back")]
    assert [r.method for r in mailbox.api] == ["POST", "GET"]


async def test_a_server_that_shows_links_only_on_the_single_email_is_still_read() -> None:
    mailbox = FakeMailbox()
    mailbox.lose_next_link_responses = 1
    real = mailbox.__call__

    def list_without_links(request: Request) -> Response:
        path = request.url.removeprefix(API)
        if request.method == "GET" and path.endswith("/Emails"):
            mailbox.api.append(request)
            listed = [{"message_id": m} for m in mailbox.linked]  # no linked_record key at all
            return json_response(200, {"Emails": listed, "info": {"more_records": False}})
        if request.method == "GET" and "/Emails/" in path:
            mailbox.api.append(request)
            message_id = path.rsplit("/", 1)[1]
            record = {"module": {"api_name": "Deals"}, "id": mailbox.linked[message_id], "name": "D"}
            return json_response(200, {"Emails": [{"subject": "s", "linked_record": record}]})
        return real(request)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(list_without_links), api_domain="https://www.zohoapis.com",
                  retry=RetryPolicy.no_wait(attempts=3))
    result = await crm.emails.link_deal([link(0)])
    assert (result[0].code, result[0].message) == ("SUCCESS", "verified after a retry")
    assert [r.method for r in mailbox.api] == ["POST", "POST", "GET", "GET"]  # list, then the single email


async def test_relink_never_unlinks_an_email_whose_deal_could_not_be_read() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = DEAL  # already right, but the list cannot be read now
    real = mailbox.__call__

    def list_refused(request: Request) -> Response:
        if request.method == "GET":
            mailbox.api.append(request)
            refusal = {"code": "CANNOT_PROCESS", "details": {}, "message": "syncing", "status": "error"}
            return json_response(400, refusal)
        return real(request)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                  transport=MockTransport(list_refused), api_domain="https://www.zohoapis.com",
                  retry=RetryPolicy.no_wait(attempts=3))
    result = await crm.emails.relink([link(0), link(1)], deals_module_id=DEALS_MODULE_ID)
    assert [r.code for r in result] == ["SUCCESS", "LINK_UNVERIFIED"]
    assert "DELETE" not in [r.method for r in mailbox.api] and mailbox.linked[mid(1)] == DEAL


async def test_the_same_email_twice_is_refused_before_sending() -> None:
    mailbox = FakeMailbox()
    crm, transport = make(mailbox)
    with pytest.raises(ValueError, match=r"item 2: message_id repeats item 0"):
        await crm.emails.relink([link(0), link(1), link(0, deal_id=OTHER_DEAL)])
    assert transport.requests == []


async def test_an_unreachable_token_endpoint_fails_the_call_quickly_with_its_cause() -> None:
    token_calls = 0

    def handler(request: Request) -> Response:
        nonlocal token_calls
        if request.url == TOKEN_URL:
            token_calls += 1
            raise TransportError("POST https://accounts.zoho.com/oauth/v2/token failed: connection refused")
        raise AssertionError("no API call without a token")

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=MockTransport(handler),
                  sleep=sleep)
    with pytest.raises(AuthenticationError) as caught:
        await crm.emails.page("Contacts", CONTACT_A)
    assert caught.value.code == "TOKEN_ENDPOINT_UNREACHABLE" and "connection refused" in str(caught.value)
    assert token_calls == 4 and sum(slept) <= 20  # a few quick tries, not the throttle's 15 minutes
