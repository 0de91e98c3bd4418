"""FakeZoho's Get Emails of a Record and Get Email: pages, keys and errors as documented, and links as they change."""

from __future__ import annotations

from tests.testing.fake_http import LIST_ITEM_KEYS, Api, link_item, run, world
from zcrm_async.testing import DEALS_MODULE_ID, FakeZoho

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
