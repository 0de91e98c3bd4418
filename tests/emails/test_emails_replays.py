"""Answers in doubt: a replayed link or associate, a 500 after the link applied, an item Zoho did not answer
for, each read back before it is reported."""

from __future__ import annotations

import json

import pytest

from tests.emails.mailbox import (
    API,
    CONTACT_A,
    CONTACT_B,
    DEAL,
    DEALS_MODULE_ID,
    OTHER_DEAL,
    OWNER,
    TOKEN_URL,
    FakeMailbox,
    link,
    make,
    mid,
    ok,
)
from zcrm_async import Request, Response, RetryPolicy, TransportError, ZohoCRM
from zcrm_async.models import Address, AssociateEmail
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio


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
