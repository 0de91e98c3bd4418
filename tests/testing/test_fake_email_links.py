"""FakeZoho's Link Deal to Emails and its unlink: the OpenAPI samples' answers, item codes, request-level errors."""

from __future__ import annotations

import json

from tests.testing.fake_http import DOC_MID_1, DOC_MID_2, Api, link_item, run, world
from zcrm_async.testing import DEALS_MODULE_ID, FakeZoho

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
