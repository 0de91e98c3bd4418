"""FakeZoho's Update Related Records using External ID: a contact and a deal related, after which links are allowed."""

from __future__ import annotations

from tests.testing.fake_http import Api, link_item, run
from zcrm_async.testing import FakeZoho

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
