"""FakeZoho is as strict as Zoho's OpenAPI files by default, and each rule it can waive is a flag, off by default."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho, Leniency

Call = Callable[..., Awaitable[tuple[int, Any]]]


def run(test: Callable[[FakeZoho, Call, dict[str, str]], Awaitable[None]], config: FakeConfig | None = None) -> None:
    async def main() -> None:
        async with FakeZoho(config) as fake, aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}"}
            owner = fake.add_user("Patricia Boyle")
            contact = fake.add_contact("Ada", "ada@example.net")
            deal = fake.add_deal("Travel", [contact])
            mid = fake.add_email(contact, owner, received=False)
            ids = {"owner": owner, "contact": contact, "deal": deal, "mid": mid}

            async def call(method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
                url = f"{fake.url}/crm/v8{path.format(**ids)}"
                async with http.request(method, url, json=body, headers=headers, **kw) as answer:
                    raw = await answer.read()
                    return answer.status, json.loads(raw) if raw else None

            await test(fake, call, ids)

    asyncio.run(main())


def item(ids: dict[str, str], **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": ids["mid"],
        "owner": {"id": ids["owner"]},
        "linked_record": {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "id": ids["deal"]},
    }
    body.update(over)
    return body


LINK = "/Contacts/{contact}/Emails/actions/link_record"
# (what is wrong, the item's change, Zoho's code, the field it names)
REFUSED = [
    ("no module id", {"linked_record": {"module": {"api_name": "Deals"}, "id": "{deal}"}},
     "MANDATORY_NOT_FOUND", "linked_record.module.id"),
    ("another module's id", {"linked_record": {"module": {"api_name": "Deals", "id": "5843104000000002179"},
                                               "id": "{deal}"}},
     "AMBIGUITY_DURING_PROCESSING", "linked_record.module.id"),
    ("no module name", {"linked_record": {"module": {"id": DEALS_MODULE_ID}, "id": "{deal}"}},
     "MANDATORY_NOT_FOUND", "linked_record.module.api_name"),
    ("no message id", {"message_id": None}, "MANDATORY_NOT_FOUND", "message_id"),
    ("a message id off the pattern", {"message_id": "abc-def"}, "INVALID_DATA", "message_id"),
    ("a message id over 500 characters", {"message_id": "a" * 501}, "INVALID_DATA", "message_id"),
    ("no owner id", {"owner": {"name": "Patricia"}}, "MANDATORY_NOT_FOUND", "owner.id"),
    ("an owner id off the pattern", {"owner": {"id": "12ab"}}, "INVALID_DATA", "owner.id"),
    ("a deal name over 255 characters", {"linked_record": {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
                                                           "id": "{deal}", "name": "n" * 256}},
     "INVALID_DATA", "linked_record.name"),
    ("an unknown key", {"priority": "high"}, "INVALID_DATA", "priority"),
    ("an unknown key in owner", {"owner": {"id": "{owner}", "email": "p@example.com"}}, "INVALID_DATA", "owner.email"),
]  # fmt: skip


def _filled(change: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return json.loads(json.dumps(change).replace("{deal}", ids["deal"]).replace("{owner}", ids["owner"]))


@pytest.mark.parametrize(("why", "change", "code", "field"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_link_item_zoho_would_refuse_is_refused(why: str, change: dict[str, Any], code: str, field: str) -> None:
    async def test(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        body = item(ids, **_filled(change, ids))
        status, answer = await call("POST", LINK, {"Emails": [{k: v for k, v in body.items() if v is not None}]})
        assert status == 400
        assert answer["Emails"] == [
            [{"code": code, "details": {"api_name": field, "json_path": f"Emails[0].{field}"},
              "message": answer["Emails"][0][0]["message"], "status": "error"}]
        ]  # fmt: skip
        assert fake.link_of(ids["mid"]) is None

    run(test)


ACCEPTED = [
    ("the doc page's owner.name", {"owner": {"id": "{owner}", "name": "Patricia Boyle"}}),
    ("the doc page's numeric ids", {"owner": {"id": 0}}),  # replaced by the owner's id as a JSON number below
    ("a deal name", {"linked_record": {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "id": "{deal}",
                                       "name": "Travel"}}),
]  # fmt: skip


@pytest.mark.parametrize(("why", "change"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_what_any_of_zohos_sources_documents_is_accepted(why: str, change: dict[str, Any]) -> None:
    async def test(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        filled = _filled(change, ids)
        if filled.get("owner") == {"id": 0}:
            filled["owner"] = {"id": int(ids["owner"])}
        status, answer = await call("POST", LINK, {"Emails": [item(ids, **filled)]})
        assert (status, answer["Emails"][0]["code"]) == (200, "SUCCESS")
        assert fake.link_of(ids["mid"]) == ids["deal"]

    run(test)


def test_leniencies_are_off_by_default_and_each_waives_only_its_rule() -> None:
    assert Leniency() == Leniency(module_id_optional=False, unknown_keys=False)
    assert FakeConfig().leniency == Leniency()

    async def test(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        no_id = item(ids, linked_record={"module": {"api_name": "Deals"}, "id": ids["deal"]})
        status, answer = await call("POST", LINK, {"Emails": [{**no_id, "priority": "high"}]})
        assert answer["Emails"][0][0]["details"]["api_name"] == "priority"  # unknown keys are still refused
        status, answer = await call("POST", LINK, {"Emails": [no_id]})
        assert (status, answer["Emails"][0]["code"]) == (200, "SUCCESS")
        wrong = item(ids, linked_record={"module": {"api_name": "Deals", "id": "1"}, "id": ids["deal"]})
        status, answer = await call("POST", LINK, {"Emails": [wrong]})
        assert answer["Emails"][0][0]["code"] == "AMBIGUITY_DURING_PROCESSING"  # a wrong id is still wrong

    run(test, FakeConfig(leniency=Leniency(module_id_optional=True)))

    async def extra_keys(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        status, answer = await call("POST", LINK, {"Emails": [item(ids, priority="high")]})
        assert (status, answer["Emails"][0]["code"]) == (200, "SUCCESS")

    run(extra_keys, FakeConfig(leniency=Leniency(unknown_keys=True)))


def test_every_item_of_an_all_failed_request_has_its_own_inner_array() -> None:
    async def test(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        bad = [item(ids, message_id="x-1"), item(ids, owner={}), item(ids, message_id="f" * 64)]
        status, answer = await call("POST", LINK, {"Emails": bad})
        assert status == 400
        assert [[(e["code"], e["details"]["json_path"]) for e in inner] for inner in answer["Emails"]] == [
            [("INVALID_DATA", "Emails[0].message_id")],
            [("MANDATORY_NOT_FOUND", "Emails[1].owner.id")],
            [("INVALID_DATA", "Emails[2].message_id")],
        ]

    run(test)


def test_module_metadata_needs_its_scope() -> None:
    async def test(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        status, answer = await call("GET", "/settings/modules/Deals")
        assert (status, answer["code"]) == (401, "OAUTH_SCOPE_MISMATCH")

    run(test, FakeConfig(scope="ZohoCRM.modules.ALL"))

    async def granted(fake: FakeZoho, call: Call, ids: dict[str, str]) -> None:
        status, answer = await call("GET", "/settings/modules/Deals")
        assert status == 200 and [(m["api_name"], m["id"]) for m in answer["modules"]] == [("Deals", DEALS_MODULE_ID)]
        status, answer = await call("GET", "/settings/modules")
        assert {m["api_name"] for m in answer["modules"]} == {"Leads", "Contacts", "Accounts", "Deals"}
        status, answer = await call("GET", f"/settings/modules/{DEALS_MODULE_ID}")  # Get Module, by id
        assert status == 200 and answer["modules"][0]["api_name"] == "Deals"
        status, answer = await call("GET", "/settings/modules/Widgets")
        assert (status, answer["code"]) == (400, "INVALID_MODULE")

    run(granted, FakeConfig(scope="ZohoCRM.settings.modules.READ"))
