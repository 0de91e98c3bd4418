"""FakeZoho's Associate Email: an email added to a record is listed, and every documented refusal."""

from __future__ import annotations

from typing import Any

from tests.testing.fake_http import Api, run, world
from zcrm_async.testing import DEALS_MODULE_ID, FakeZoho

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
