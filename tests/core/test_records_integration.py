"""Records paging and related-records updates against FakeZoho through the real aiohttp transport."""

from __future__ import annotations

import pytest

from tests.fakes import fake_and_client
from zcrm_async.emails import DealLink

pytestmark = pytest.mark.anyio


async def test_iterate_pages_past_2000_records_with_page_token() -> None:
    async with fake_and_client() as (fake, crm):
        ids = {fake.add_contact(name=f"C{i}") for i in range(2345)}
        seen = [record["id"] async for record in crm.records.iterate("Contacts", fields=["Last_Name"])]
        assert len(seen) == len(set(seen)) == 2345
        assert set(seen) == ids
        # pages 1..10 by number, then 2 more by page_token (200 a page)
        assert fake.stats.requests["get_records"] == 12


async def test_iterate_small_and_empty_modules() -> None:
    async with fake_and_client() as (fake, crm):
        assert [r async for r in crm.records.iterate("Deals", fields=["Deal_Name"])] == []
        for i in range(450):
            fake.add_deal(f"D{i}")
        deals = [r async for r in crm.records.iterate("Deals", fields=["Deal_Name"], per_page=100)]
        assert len({d["id"] for d in deals}) == 450


async def test_bad_record_queries_are_refused_before_sending() -> None:
    async with fake_and_client() as (fake, crm):
        with pytest.raises(ValueError, match="fields"):
            await crm.records.page("Contacts", fields=[])
        with pytest.raises(ValueError, match="per_page"):
            await crm.records.page("Contacts", fields=["Last_Name"], per_page=201)
        with pytest.raises(ValueError, match="page_token"):
            await crm.records.page("Contacts", fields=["Last_Name"], page=2, page_token="x")
        assert fake.stats.requests["get_records"] == 0


async def test_update_related_by_external_id_makes_linking_allowed() -> None:
    async with fake_and_client() as (fake, crm):
        owner = fake.add_user("Owner")
        contact = fake.add_contact(name="Ada", external_id="extcontact3")
        deal = fake.add_deal("Deal", external_id="extdeal3")
        message_id = fake.add_email(contact, owner, received=False)
        link = DealLink(contact_id=contact, message_id=message_id, deal_id=deal, owner_id=owner)
        assert (await crm.emails.link_deal([link])).counts == {"NOT_ALLOWED": 1}

        result = await crm.records.update_related_by_external_id(
            "Contacts",
            "extcontact3",
            "Deals",
            [{"External_Deal_ID": "extdeal3"}, {"External_Deal_ID": "no-such-deal"}],
            external=["Contacts.External_Contact_ID", "Deals.External_Deal_ID"],
        )
        assert [r.code for r in result] == ["SUCCESS", "INVALID_DATA"]
        assert result[0].details["id"] == deal
        assert (await crm.emails.link_deal([link])).ok



async def test_a_failing_page_raises_its_error_not_a_group() -> None:
    from zcrm_async import InvalidRequestError, ZohoCRM
    from zcrm_async.plumbing import Request, Response
    from zcrm_async.testing import MockTransport, json_response

    def zoho(request: Request) -> Response:
        if request.url.endswith("/oauth/v2/token"):
            return json_response(200, {"access_token": "t"})
        page = int((request.params or {}).get("page", "1"))
        if page == 3:
            return json_response(400, {"code": "INVALID_DATA", "details": {}, "message": "no", "status": "error"})
        return json_response(200, {"data": [{"id": str(page)}], "info": {"more_records": True}})

    crm = ZohoCRM(client_id="i", client_secret="s", refresh_token="r", transport=MockTransport(zoho))
    with pytest.raises(InvalidRequestError, match="INVALID_DATA"):
        async for _ in crm.records.iterate("Contacts", fields=["Last_Name"]):
            pass


async def test_iterate_many_refuses_a_bad_id_before_any_request() -> None:
    async with fake_and_client() as (fake, crm):
        good = fake.add_contact(name="Ada")
        with pytest.raises(ValueError, match="record_id must be a numeric Zoho id"):
            async with crm.emails.iterate_many("Contacts", [good, good, "12x"]) as stream:
                async for _ in stream:
                    pass
        assert fake.stats.requests["get_emails"] == 0
