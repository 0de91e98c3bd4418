"""FakeZoho's email and deal endpoints against the documented samples, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho

# The message ids of Zoho's "Link Deal to Emails" samples.
DOC_MID_1 = "8937fb892cc6f15b95bc22ecb91b6f85e9f60916ef9314d484543df546f09ad1"
DOC_MID_2 = "6622e532084a2c329b44f4d7c58a93bb2f616d21e1e73cc1e9cc71d24ef6b5f5"

LIST_ITEM_KEYS = [
    "cc",
    "has_thread_attachment",
    "summary",
    "owner",
    "read",
    "subject",
    "message_id",
    "has_attachment",
    "source",
    "sent",
    "intent",
    "sentiment_info",
    "activity_info",
    "linked_record",
    "related_to_record",
    "emotion",
    "from",
    "to",
    "time",
    "status",
]


class Api:
    """A tiny authorised HTTP helper: returns (status, parsed JSON or None, raw body)."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeZoho, token: str) -> None:
        self.http, self.fake = http, fake
        self.headers = {"Authorization": f"Zoho-oauthtoken {token}"}

    async def call(
        self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None, **kw: Any
    ) -> tuple[int, Any, bytes]:
        headers = {**self.headers, **kw.pop("headers", {})}
        async with self.http.request(
            method, self.fake.url + path, json=json_body, data=data, headers=headers, **kw
        ) as resp:
            raw = await resp.read()
            return resp.status, (json.loads(raw) if raw else None), raw


def run(test: Callable[[FakeZoho, Api], Awaitable[None]], config: FakeConfig | None = None) -> None:
    async def main() -> None:
        async with FakeZoho(config) as fake, aiohttp.ClientSession() as http:
            await test(fake, Api(http, fake, fake.issue_token()))

    asyncio.run(main())


def link_item(owner: str, deal: str, message_id: str | None = None, **over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "owner": {"name": "Patricia Boyle", "id": owner},
        "message_id": message_id,
        "linked_record": {
            "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
            "name": "Travel",
            "id": deal,
        },
    }
    if message_id is None:
        del item["message_id"]
    item.update(over)
    return item


def world(fake: FakeZoho) -> tuple[str, str, str]:
    """A user, a contact and a deal associated with it."""
    user = fake.add_user("Patricia Boyle")
    contact = fake.add_contact("Christopher Maclead", "christopher-maclead@noemail.com")
    deal = fake.add_deal("Travel Insurance", [contact])
    return user, contact, deal


# -- Get Emails of a Record ---------------------------------------------------------------------------


def test_get_emails_pages_25_emails_in_three_pages_newest_first() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, _ = world(fake)
        sent = [fake.add_email(contact, user, subject=f"mail {i}", received=False) for i in range(25)]
        seen: list[str] = []
        index: str | None = None
        pages = 0
        while True:
            params = {"index": index} if index else {}
            status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails", params=params)
            assert status == 200
            pages += 1
            assert [list(e) for e in body["Emails"]] == [LIST_ITEM_KEYS] * len(body["Emails"])
            assert list(body["info"]) == ["per_page", "next_index", "count", "prev_index", "more_records"]
            assert body["info"]["per_page"] == 10 and body["info"]["count"] == len(body["Emails"])
            seen += [e["message_id"] for e in body["Emails"]]
            if not body["info"]["more_records"]:
                assert body["info"]["next_index"] is None
                break
            index = body["info"]["next_index"]
            assert isinstance(index, str) and len(index) == 96
        assert pages == 3
        assert seen == sent[::-1]  # each once, newest first
        first = (await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails"))[1]["Emails"][0]
        assert first["status"] == [{"type": "sent", "bounced_time": None, "bounced_reason": None}]
        assert first["owner"] == {
            "name": "Patricia Boyle",
            "id": user,
        }
        assert len(first["message_id"]) in (64, 96) and first["linked_record"] is None

    run(test)


def test_get_emails_204_for_none_and_errors_per_doc() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, _ = world(fake)
        status, body, raw = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails")
        assert (status, raw) == (204, b"")
        fake.add_email(contact, user)
        status, body, _ = await api.call("GET", "/crm/v8/Contacts/5843104000999999999/Emails")
        assert (status, body["code"]) == (400, "INVALID_DATA")
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails", params={"type": "bogus"})
        assert (status, body["code"]) == (400, "INVALID_DATA")
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails", params={"owner_id": user})
        assert (status, body["code"]) == (400, "INVALID_DATA")
        params = {"type": "user_emails", "owner_id": user}
        status, body, _ = await api.call("GET", f"/crm/v7/Contacts/{contact}/Emails", params=params)
        assert status == 200 and len(body["Emails"]) == 1
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails", params={"index": "ab" * 48})
        assert (status, body["code"]) == (400, "INVALID_DATA")
        status, body, _ = await api.call("GET", f"/crm/v8/Widgets/{contact}/Emails")
        assert (status, body["code"]) == (400, "INVALID_MODULE")

    run(test)


def test_get_one_email_has_the_doc_keys_and_deal_lists_its_linked_emails() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        mid = fake.add_email(contact, user, subject="quote", content="<p>hi</p>")  # received: predicted
        assert fake.link_of(mid) == deal
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails/{mid}")
        assert status == 200
        (email,) = body["Emails"]
        doc_keys = [
            "attachments",
            "subject",
            "editable",
            "mail_format",
            "intent",
            "content",
            "sentiment_info",
            "sent_time",
            "thread_id",
            "emotion",
            "reply_to",
            "from",
            "to",
            "status",
        ]
        assert list(email) == doc_keys  # the doc's keys and no others: link state is only in the list
        assert email["content"] == "<p>hi</p>"
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails")
        assert body["Emails"][0]["linked_record"] == {
            "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
            "name": "Travel Insurance",
            "id": deal,
        }
        status, body, _ = await api.call("GET", f"/crm/v8/Deals/{deal}/Emails")
        assert status == 200 and [e["message_id"] for e in body["Emails"]] == [mid]
        status, body, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails/{'0' * 64}")
        assert (status, body["code"]) == (400, "INVALID_DATA")

    run(test)


# -- Link Deal to Emails ------------------------------------------------------------------------------


def test_link_multi_response_is_the_openapi_sample_byte_for_byte() -> None:
    doc_response = {
        "Emails": [
            {
                "code": "SUCCESS",
                "details": {"message_id": DOC_MID_1},
                "message": "Email linked to the record successfully",
                "status": "success",
            },
            {
                "code": "SUCCESS",
                "details": {"message_id": DOC_MID_2},
                "message": "Email linked to the record successfully",
                "status": "success",
            },
        ]
    }

    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        fake.add_email(contact, user, message_id=DOC_MID_1, received=False)
        fake.add_email(contact, user, message_id=DOC_MID_2, received=False)
        body = {"Emails": [link_item(user, deal, DOC_MID_1), link_item(user, deal, DOC_MID_2)]}
        status, _, raw = await api.call(
            "POST", f"/crm/v8/Contacts/{contact}/Emails/actions/link_record", json_body=body
        )
        assert status == 200
        assert raw == json.dumps(doc_response, separators=(",", ":")).encode()
        assert fake.link_of(DOC_MID_1) == deal == fake.link_of(DOC_MID_2)

    run(test)


def test_link_single_answers_the_openapi_shape_and_nests_errors() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        fake.add_email(contact, user, message_id=DOC_MID_2, received=False)
        item = {
            "linked_record": {
                "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
                "name": "Travel",
                "id": deal,
            },
            "owner": {"name": "Patricia Boyle", "id": user},
        }
        path = f"/crm/v8/Contacts/{contact}/Emails/{DOC_MID_2}/actions/link_record"
        status, body, _ = await api.call("POST", path, json_body={"Emails": [item]})
        assert status == 200
        assert body == {
            "Emails": [
                {
                    "code": "SUCCESS",
                    "details": {"message_id": DOC_MID_2},
                    "message": "Email linked to the record successfully",
                    "status": "success",
                }
            ]
        }
        status, body, _ = await api.call("POST", path, json_body={"Emails": [item]})
        assert status == 400
        assert body == {
            "Emails": [
                [
                    {
                        "code": "ALREADY_LINKED",
                        "details": {"api_name": "message_id", "json_path": "Emails[0].message_id"},
                        "message": "the email is already linked",
                        "status": "error",
                    }
                ]
            ]
        }
        status, body, _ = await api.call("POST", path, json_body={"Emails": [{**item, "message_id": DOC_MID_2}]})
        assert status == 400 and body["Emails"][0][0]["details"]["api_name"] == "message_id"  # not in this body

    run(test)


def test_link_item_codes_and_status_rule() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        other_deal = fake.add_deal("Not theirs")  # no contacts
        mids = [fake.add_email(contact, user, received=False) for _ in range(3)]
        path = f"/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        items = [
            link_item(user, deal, mids[0]),
            link_item(user, deal, mids[0]),  # duplicate in one request -> ALREADY_LINKED
            link_item(user, other_deal, mids[1]),  # NOT_ALLOWED
            link_item(user, deal, mids[2], linked_record={"module": {"api_name": "Leads"}, "id": deal}),
            {
                "message_id": mids[2],
                "linked_record": {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "id": deal},
            },  # no owner
            link_item(user, "5843104000099999999", mids[2]),  # unknown deal
            link_item(user, deal, "f" * 64),  # unknown message
            link_item(user, "not-a-number", mids[2]),
        ]
        status, body, _ = await api.call("POST", path, json_body={"Emails": items})
        assert status == 207
        codes = [r["code"] for r in body["Emails"]]
        assert codes == [
            "SUCCESS",
            "ALREADY_LINKED",
            "NOT_ALLOWED",
            "INVALID_MODULE",
            "MANDATORY_NOT_FOUND",
            "INVALID_DATA",
            "INVALID_DATA",
            "INVALID_DATA",
        ]
        assert body["Emails"][4]["details"] == {"api_name": "owner", "json_path": "Emails[4].owner"}
        path_of_7 = {"api_name": "linked_record.id", "json_path": "Emails[7].linked_record.id"}
        assert body["Emails"][7]["details"] == path_of_7
        assert {s["status"] for s in body["Emails"][1:]} == {"error"}
        assert dict(fake.links) == {mids[0]: deal}
        status, body, _ = await api.call("POST", path, json_body={"Emails": [link_item(user, other_deal, mids[1])]})
        assert status == 400 and body["Emails"][0][0]["code"] == "NOT_ALLOWED"  # all failed: nested
        two = [link_item(user, other_deal, mids[1]), link_item(user, deal, "f" * 64)]
        status, body, _ = await api.call("POST", path, json_body={"Emails": two})
        assert status == 400 and [[e["code"] for e in inner] for inner in body["Emails"]] == [
            ["NOT_ALLOWED"],
            ["INVALID_DATA"],
        ]  # one inner array per item, as Zoho's OpenAPI file shows

    run(test)


def test_link_request_level_errors_apply_nothing() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        mids = [fake.add_email(contact, user, received=False) for _ in range(21)]
        path = f"/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        status, body, _ = await api.call("POST", path, json_body={"Emails": [link_item(user, deal, m) for m in mids]})
        assert (status, body["code"], body["status"]) == (400, "INVALID_DATA", "error")
        assert body["details"] == {"maximum_length": 20, "api_name": "Emails", "json_path": "Emails"}
        assert not fake.links
        status, body, _ = await api.call("POST", path, data=b"{not json", headers={"Content-Type": "application/json"})
        assert (status, body["code"]) == (400, "INVALID_DATA")
        status, body, _ = await api.call("POST", path, json_body={"Emails": []})
        assert (status, body["code"]) == (400, "INVALID_DATA")
        v7 = f"/crm/v7/Contacts/{contact}/Emails/actions/link_record"
        status, body, _ = await api.call("POST", v7, json_body={"Emails": [link_item(user, deal, mids[0])]})
        assert (status, body["code"]) == (400, "API_NOT_SUPPORTED")
        assert not fake.links

    run(test)


# -- Unlink -------------------------------------------------------------------------------------------


def test_unlink_multi_single_and_errors() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        fake.add_email(contact, user, message_id=DOC_MID_1)  # received: linked by prediction
        fake.add_email(contact, user, message_id=DOC_MID_2)
        third = fake.add_email(contact, user)
        path = f"/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        params = {"owner_id": user, "message_ids": f"{DOC_MID_1},{DOC_MID_2}"}
        status, body, _ = await api.call("DELETE", path, params=params)
        assert status == 200
        assert body == {
            "Emails": [
                {
                    "code": "SUCCESS",
                    "details": {"message_id": m},
                    "message": "Email unlinked from the record successfully",
                    "status": "success",
                }
                for m in (DOC_MID_1, DOC_MID_2)
            ]
        }
        assert dict(fake.links) == {third: deal}
        status, body, _ = await api.call(
            "DELETE", path, params={"owner_id": user, "message_ids": f"{DOC_MID_1},{third}"}
        )
        assert status == 207 and [r["code"] for r in body["Emails"]] == ["INVALID_DATA", "SUCCESS"]
        status, body, _ = await api.call("DELETE", path, params={"owner_id": user, "message_ids": DOC_MID_1})
        assert status == 400 and body["Emails"] == [
            [
                {
                    "code": "INVALID_DATA",
                    "details": {"api_name": "message_id", "json_path": "message_ids[0]"},
                    "message": "invalid data",
                    "status": "error",
                }
            ]
        ]
        status, body, _ = await api.call("DELETE", path, params={"message_ids": DOC_MID_1})
        assert (status, body["code"], body["details"]["api_name"]) == (400, "MANDATORY_NOT_FOUND", "owner_id")
        status, body, _ = await api.call("DELETE", path, params={"owner_id": user})
        assert (status, body["code"], body["details"]["api_name"]) == (400, "MANDATORY_NOT_FOUND", "message_ids")
        too_many = ",".join(f"{i:064x}" for i in range(21))
        status, body, _ = await api.call("DELETE", path, params={"owner_id": user, "message_ids": too_many})
        assert (status, body["code"], body["details"]["maximum_length"]) == (400, "INVALID_DATA", 20)
        too_long = ",".join(f"{i:0200x}" for i in range(11))
        status, body, _ = await api.call("DELETE", path, params={"owner_id": user, "message_ids": too_long})
        assert (status, body["code"], body["details"]["maximum_length"]) == (400, "INVALID_DATA", 2000)
        fake.add_email(contact, user, message_id="ab" * 48)
        single = f"/crm/v8/Contacts/{contact}/Emails/{'ab' * 48}/actions/link_record"
        status, body, _ = await api.call("DELETE", single, params={"owner_id": user})
        assert status == 200 and body["Emails"][0]["code"] == "SUCCESS"
        assert fake.link_of("ab" * 48) is None

    run(test)


# -- Associate Email ----------------------------------------------------------------------------------


def associate_item(**over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "from": {"user_name": "user1", "email": "test@zoho.com"},
        "to": [{"user_name": "user2", "email": "test1@zoho.com"}],
        "cc": [{"user_name": "user3", "email": "test2@zoho.com"}],
        "subject": "Mail subject",
        "content": "<h3>Mail is of rich text format</h3>",
        "mail_format": "html",
        "date_time": "2018-06-12T12:12:12+05:30",
        "sent": True,
        "original_message_id": "1234534dead-asds3322w243",
    }
    item.update(over)
    return item


def test_associate_email_creates_listable_email_and_rejects_duplicates() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        _, contact, deal = world(fake)
        path = f"/crm/v7/Contacts/{contact}/actions/associate_email"
        linked = {
            "id": deal,
            "name": "Travel Insurance",
            "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
        }
        status, body, _ = await api.call("POST", path, json_body={"Emails": [associate_item(linked_record=linked)]})
        assert status == 201
        (result,) = body["Emails"]
        assert list(result) == ["code", "details", "message", "status"]
        assert (result["code"], result["message"]) == ("SUCCESS", "Your mail has been added successfully")
        mid = result["details"]["message_id"]
        assert fake.link_of(mid) == deal
        status, listing, _ = await api.call("GET", f"/crm/v8/Contacts/{contact}/Emails")
        assert [e["message_id"] for e in listing["Emails"]] == [mid]
        assert listing["Emails"][0]["subject"] == "Mail subject"
        status, body, _ = await api.call("POST", path, json_body={"data": [associate_item()]})  # the YAML file's key
        assert status == 400 and body["Emails"][0]["code"] == "DUPLICATE_DATA"
        missing = associate_item(original_message_id="other")
        del missing["content"]
        status, body, _ = await api.call("POST", path, json_body={"Emails": [missing]})
        assert status == 400
        assert body["Emails"][0]["code"] == "MANDATORY_NOT_FOUND"
        assert body["Emails"][0]["details"] == {"api_name": "content", "json_path": "$.Emails[0].content"}
        status, body, _ = await api.call("POST", path, json_body={"Emails": [associate_item(importance="high")]})
        assert (status, body["code"], body["details"]["json_path"]) == (400, "INVALID_DATA", "$.Emails[0].importance")
        stranger = associate_item(owner={"id": "1"}, original_message_id="x0")
        status, body, _ = await api.call("POST", path, json_body={"Emails": [stranger]})
        assert (status, body["Emails"][0]["message"]) == (400, "Provide a Proper owner id")
        two = [associate_item(original_message_id="x1"), associate_item(original_message_id="x2")]
        status, body, _ = await api.call("POST", path, json_body={"Emails": two})
        assert (status, body["details"]) == (400, {"maximum_length": 1, "api_name": "Emails", "json_path": "$.Emails"})
        status, body, _ = await api.call(
            "POST",
            f"/crm/v8/Products/{contact}/actions/associate_email",
            json_body={"Emails": [associate_item()]},
        )
        assert (status, body["code"]) == (404, "INVALID_MODULE")
        status, body, _ = await api.call(
            "POST", f"/crm/v8/Deals/{deal}/actions/associate_email", json_body={"Emails": [associate_item()]}
        )
        assert status == 201
        status, listing, _ = await api.call("GET", f"/crm/v8/Deals/{deal}/Emails")
        assert body["Emails"][0]["details"]["message_id"] in [e["message_id"] for e in listing["Emails"]]

    run(test)


# -- Update Related Records using External ID ---------------------------------------------------------


def test_update_related_by_external_ids_allows_later_links() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user = fake.add_user("Patricia Boyle")
        contact = fake.add_contact("Ext Contact", external_id="extcontact3")
        deal = fake.add_deal("Ext Deal", external_id="extdeal3")
        mid = fake.add_email(contact, user, received=False)
        link_path = f"/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        status, body, _ = await api.call("POST", link_path, json_body={"Emails": [link_item(user, deal, mid)]})
        assert status == 400 and body["Emails"][0][0]["code"] == "NOT_ALLOWED"
        headers = {"X-EXTERNAL": "Contacts.External_Contact_ID,Deals.External_Deal_ID"}
        sample = {"data": [{"External_Deal_ID": "extdeal3", "Contact_Role": "111111000000026002"}]}
        status, body, _ = await api.call("PUT", "/crm/v8/Contacts/extcontact3/Deals", json_body=sample, headers=headers)
        assert (status, body) == (
            200,
            {
                "data": [
                    {
                        "code": "SUCCESS",
                        "details": {"External_Deal_ID": "extdeal3", "id": deal},
                        "message": "relation added",
                        "status": "success",
                    }
                ]
            },
        )
        status, body, _ = await api.call("POST", link_path, json_body={"Emails": [link_item(user, deal, mid)]})
        assert status == 200 and fake.link_of(mid) == deal
        # Contact by record id, deal by external id (the doc's second sample).
        only_deal = {"X-EXTERNAL": "Deals.External_Deal_ID"}
        status, body, _ = await api.call(
            "PUT", f"/crm/v8/Contacts/{contact}/Deals", json_body=sample, headers=only_deal
        )
        assert status == 200
        bad = {"data": [{"External_Deal_ID": "nope"}, {"Contact_Role": "1"}]}
        status, body, _ = await api.call("PUT", f"/crm/v8/Contacts/{contact}/Deals", json_body=bad, headers=only_deal)
        assert status == 400 and [r["code"] for r in body["data"]] == ["INVALID_DATA", "MANDATORY_NOT_FOUND"]
        status, body, _ = await api.call("PUT", "/crm/v8/Contacts/extnobody/Deals", json_body=sample, headers=headers)
        assert (status, body["code"]) == (400, "INVALID_DATA")

    run(test)


# -- Get Records --------------------------------------------------------------------------------------


def test_get_records_pages_and_page_tokens() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        status, _, raw = await api.call("GET", "/crm/v8/Contacts", params={"fields": "Last_Name"})
        assert (status, raw) == (204, b"")
        fake.seed_world(contacts=450, deals_per_contact=0, emails_per_contact=0)
        status, body, _ = await api.call("GET", "/crm/v8/Contacts")
        assert (status, body["code"]) == (400, "REQUIRED_PARAM_MISSING")
        status, body, _ = await api.call(
            "GET", "/crm/v8/Contacts", params={"fields": "Last_Name,Email", "per_page": "200"}
        )
        assert status == 200 and len(body["data"]) == 200
        assert list(body["info"]) == [
            "per_page",
            "count",
            "page",
            "sort_by",
            "sort_order",
            "more_records",
            "next_page_token",
            "previous_page_token",
            "page_token_expiry",
        ]
        assert list(body["data"][0]) == ["id", "Last_Name", "Email"] and body["data"][0]["Last_Name"] == "Contact 450"
        ids = [r["id"] for r in body["data"]]
        token = body["info"]["next_page_token"]
        while token:
            params = {"fields": "Last_Name,Email", "per_page": "200", "page_token": token}
            status, body, _ = await api.call("GET", "/crm/v8/Contacts", params=params)
            assert status == 200
            ids += [r["id"] for r in body["data"]]
            token = body["info"]["next_page_token"]
        assert len(ids) == len(set(ids)) == 450 and ids == sorted(ids, reverse=True)
        status, body, _ = await api.call("GET", "/crm/v8/Contacts", params={"fields": "Email", "page": "11"})
        assert (status, body["code"]) == (400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
        status, body, _ = await api.call(
            "GET", "/crm/v8/Contacts", params={"fields": "Email", "page": "1", "page_token": "00"}
        )
        assert status == 400
        status, body, _ = await api.call(
            "GET", "/crm/v8/Contacts", params={"fields": "Email", "page": "3", "per_page": "200"}
        )
        assert status == 200 and body["info"]["count"] == 50 and body["info"]["more_records"] is False

    run(test)


# -- Deal Prediction ------------------------------------------------------------------------------------


def test_deal_prediction_rules() -> None:
    fake = FakeZoho()
    user = fake.add_user("Owner")
    one = fake.add_contact("One open deal")
    only = fake.add_deal("Only", [one])
    fake.add_deal("Lost", [one], closed_lost=True)
    assert fake.link_of(fake.add_email(one, user)) == only
    assert fake.link_of(fake.add_email(one, user, received=False)) is None  # sent mail is not predicted

    several = fake.add_contact("Several")
    older = fake.add_deal("Older", [several])
    newer = fake.add_deal("Newer", [several])
    fake.add_deal("Newest but lost", [several], closed_lost=True)
    assert fake.link_of(fake.add_email(several, user)) == newer
    fake.touch_deal(older)
    assert fake.link_of(fake.add_email(several, user)) == older

    none = fake.add_contact("No valid deals")
    fake.add_deal("Lost", [none], closed_lost=True)
    fake.add_deal("Won", [none], closed_won=True)
    assert fake.link_of(fake.add_email(none, user)) is None
    assert fake.link_of(fake.add_email(fake.add_contact("No deals"), user)) is None


def test_unknown_url_and_wrong_method() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        status, body, _ = await api.call("GET", "/crm/v8/Contacts/1/Emails/2/3/4")
        assert (status, body) == (
            404,
            {
                "code": "INVALID_URL_PATTERN",
                "details": {},
                "message": "Please check if the URL trying to access is a correct one",
                "status": "error",
            },
        )
        status, body, _ = await api.call("PATCH", "/crm/v8/Contacts/1/Emails")
        assert (status, body["code"]) == (400, "INVALID_REQUEST_METHOD")

    run(test)


def test_seed_world_is_deterministic() -> None:
    a, b = FakeZoho(FakeConfig(seed=7)), FakeZoho(FakeConfig(seed=7))
    sa, sb = a.seed_world(contacts=20, emails_per_contact=4), b.seed_world(contacts=20, emails_per_contact=4)
    assert sa == sb and len(sa.message_ids) == 80 and 0 < sa.linked <= 80
    assert all(len(m) in (64, 96) and int(m, 16) >= 0 for m in sa.message_ids)
    assert all(len(i) == 19 and i.isdigit() for i in sa.contact_ids + sa.deal_ids)
    assert a.emails_of(sa.contact_ids[0]) == list(reversed(sa.message_ids[:4]))


def test_listing_reflects_link_changes() -> None:
    async def test(fake: FakeZoho, api: Api) -> None:
        user, contact, deal = world(fake)
        mid = fake.add_email(contact, user, received=False)
        listing = f"/crm/v8/Contacts/{contact}/Emails"
        assert (await api.call("GET", listing))[1]["Emails"][0]["linked_record"] is None
        path = f"/crm/v8/Contacts/{contact}/Emails/actions/link_record"
        assert (await api.call("POST", path, json_body={"Emails": [link_item(user, deal, mid)]}))[0] == 200
        assert (await api.call("GET", listing))[1]["Emails"][0]["linked_record"]["id"] == deal
        assert (await api.call("DELETE", path, params={"owner_id": user, "message_ids": mid}))[0] == 200
        assert (await api.call("GET", listing))[1]["Emails"][0]["linked_record"] is None
        assert (await api.call("GET", f"/crm/v8/Deals/{deal}/Emails"))[0] == 204

    run(test)
