"""FakeZoho's shared preamble on every endpoint: route names, the version check, the record lookup, an unknown
URL and a wrong method."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.testing.fake_http import Api, run
from zcrm_async.testing import FakeZoho

_LINK = "actions/link_record"
# (route name, method, path after /crm/{v}/; {rec} is the record id)
ROUTES = [
    ("get_records", "GET", "Contacts?fields=Email"),
    ("get_emails", "GET", "Contacts/{rec}/Emails"),
    ("get_email", "GET", "Contacts/{rec}/Emails/abc"),
    ("link_emails", "POST", f"Contacts/{{rec}}/Emails/{_LINK}"),
    ("unlink_emails", "DELETE", f"Contacts/{{rec}}/Emails/{_LINK}"),
    ("link_email", "POST", f"Contacts/{{rec}}/Emails/abc/{_LINK}"),
    ("unlink_email", "DELETE", f"Contacts/{{rec}}/Emails/abc/{_LINK}"),
    ("associate_email", "POST", "Contacts/{rec}/actions/associate_email"),
    ("update_related", "PUT", "Contacts/{rec}/Deals"),
    ("get_modules", "GET", "settings/modules"),
    ("get_module", "GET", "settings/modules/Deals"),
    ("get_record", "GET", "Contacts/{rec}"),
    ("get_contact_roles", "GET", "Deals/{rec}/Contact_Roles?fields=Email"),
]
RECORD_ROUTES = [r for r in ROUTES if "{rec}" in r[2] and r[0] != "update_related"]


async def _call(fake: FakeZoho, method: str, path: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
    async with aiohttp.ClientSession() as http, http.request(method, fake.url + path, headers=headers) as resp:
        return resp.status, json.loads(await resp.read())


@pytest.mark.parametrize(("name", "method", "path"), ROUTES)
def test_an_unserved_version_is_an_unknown_url_on_every_endpoint(name: str, method: str, path: str) -> None:
    async def main() -> None:
        async with FakeZoho() as fake:
            contact = fake.add_contact("Ada", "ada@example.net")
            status, body = await _call(fake, method, "/crm/v6/" + path.format(rec=contact))
            assert (status, body["code"]) == (404, "INVALID_URL_PATTERN")
            assert fake.stats.requests[name] == 1

    asyncio.run(main())


@pytest.mark.parametrize(("name", "method", "path"), RECORD_ROUTES)
def test_an_unknown_record_is_invalid_data_on_every_record_endpoint(name: str, method: str, path: str) -> None:
    async def main() -> None:
        async with FakeZoho() as fake:
            status, body = await _call(fake, method, "/crm/v8/" + path.format(rec="5843104000000999999"))
            # The URL's place of the record (Get Emails' OpenAPI file); Associate Email's example has no details.
            details = {} if name == "associate_email" else {"resource_path_index": 1}
            assert (status, body["code"], body["details"]) == (400, "INVALID_DATA", details)
            assert fake.stats.requests[name] == 1

    asyncio.run(main())


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
