"""FakeZoho's Get Records: required fields, pages of 200 by page token, and the discrete pagination limit."""

from __future__ import annotations

from tests.testing.fake_http import Api, run
from zcrm_async.testing import FakeZoho

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
        status, body, _ = await api.call("GET", "/crm/v8/Nowhere", params={"fields": "Last_Name"})
        assert (status, body) == (400, {"code": "INVALID_MODULE", "details": {"resource_path_index": 0},
                                        "message": "The module name given seems to be invalid", "status": "error"})

    run(test)
