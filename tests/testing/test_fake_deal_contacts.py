"""FakeZoho's Get Record and Get Contact Roles of a Specific Deal: what a deal says about its contacts."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


async def _get(fake: FakeZoho, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
    async with aiohttp.ClientSession() as http, http.get(fake.url + "/crm/v8" + path, headers=headers) as resp:
        body = await resp.read()
        return resp.status, json.loads(body) if body else None


async def test_a_deal_record_names_its_first_contact_and_its_roles_list_the_others() -> None:
    async with FakeZoho() as fake:
        first, second, third = (fake.add_contact(f"C{n}", f"c{n}@example.net") for n in range(3))
        deal = fake.add_deal("Shared", [first, second, third])
        alone = fake.add_deal("Alone", [first])

        status, body = await _get(fake, f"/Deals/{deal}?fields=Contact_Name,Deal_Name")
        assert status == 200
        assert body["data"] == [{"id": deal, "Contact_Name": {"name": "C0", "id": first}, "Deal_Name": "Shared"}]
        status, body = await _get(fake, f"/Deals/{deal}")  # fields are optional for one record
        assert status == 200 and body["data"][0]["Contact_Name"]["id"] == first and "Stage" in body["data"][0]

        status, body = await _get(fake, f"/Deals/{deal}/Contact_Roles?fields=Email")
        assert status == 200
        assert [row["id"] for row in body["data"]] == sorted([second, third])
        assert body["data"][0]["Contact_Role"]["name"] and "Email" in body["data"][0]
        assert body["info"]["more_records"] is False
        status, body = await _get(fake, f"/Deals/{deal}/Contact_Roles?fields=Email&ids={third}")
        assert [row["id"] for row in body["data"]] == [third]
        status, body = await _get(fake, f"/Deals/{deal}/Contact_Roles?fields=Email&per_page=1")
        assert len(body["data"]) == 1 and body["info"]["more_records"] is True
        assert (await _get(fake, f"/Deals/{alone}/Contact_Roles?fields=Email"))[0] == 204  # no roles

        status, body = await _get(fake, f"/Deals/{deal}/Contact_Roles")
        assert (status, body["code"]) == (400, "REQUIRED_PARAM_MISSING")


async def test_reading_deals_needs_a_read_scope() -> None:
    async with FakeZoho(FakeConfig(scope="ZohoCRM.modules.emails.ALL ZohoCRM.modules.contacts.ALL")) as fake:
        contact = fake.add_contact("C")
        deal = fake.add_deal("D", [contact])
        for path in (f"/Deals/{deal}", f"/Deals/{deal}/Contact_Roles?fields=Email"):
            status, body = await _get(fake, path)
            assert (status, body["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
        assert (await _get(fake, f"/Contacts/{contact}"))[0] == 200  # the Contacts scope reads a contact

    async with FakeZoho(FakeConfig(scope="ZohoCRM.modules.READ")) as fake:
        deal = fake.add_deal("D", [fake.add_contact("C")])
        assert (await _get(fake, f"/Deals/{deal}"))[0] == 200
