"""Zoho's published OpenAPI files judge both sides: every body the client sends and every answer FakeZoho gives.

The client runs against FakeZoho through the real aiohttp transport, wrapped to keep each request and response;
then every link, unlink and associate request is validated against Zoho's request schema, and every answer
against the response schema of its endpoint and status. Scenarios: success, mixed, every item failed, not found,
size limits, a token without the modules scope, and emails whose nullable fields are all null.

Where Zoho's own sources disagree, the schema is widened in one named place below (``_widen_*``), each with the
source that widens it. Skipped, with that reason, only where the OpenAPI files are not beside the clone.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import msgspec
import pytest

from tests.contract import oas
from tests.fakes import fake_and_client, links_for
from zcrm_async import ZohoCRM
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.models import Address, AssociateEmail
from zcrm_async.plumbing import AiohttpTransport, Request, Response
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

_LINK = "/Contacts/{contactId}/Emails/actions/link_record"
_ONE = "/Contacts/{contactId}/Emails/{messageId}/actions/link_record"
_JSON = ("content", "application/json", "schema")
_DOC_ONLY_CODES = ["INVALID_DATA", "ALREADY_LINKED", "NOT_ALLOWED", "INVALID_MODULE", "AMBIGUITY_DURING_PROCESSING"]


class Recorder:
    """The client's transport, keeping every (request, response) pair."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.exchanges: list[tuple[Request, Response]] = []

    async def send(self, request: Request) -> Response:
        response = await self.inner.send(request)
        self.exchanges.append((request, response))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeZoho, ZohoCRM, Recorder]]:
    recorder = Recorder()
    async with fake_and_client(FakeConfig(null_share=0.2), transport=recorder) as (fake, crm):
        yield fake, crm, recorder
    await recorder.aclose()


# -- the schemas, with every documented conflict widened in one place ------------------------------------


def _widen_item_errors(schema: dict[str, Any]) -> None:
    """The doc page lists per-item codes beyond the OpenAPI file's two (ALREADY_LINKED, NOT_ALLOWED, ...):
    the INVALID_DATA item shape carries them all, with their own messages. The single-email operations list the
    same error shape twice under ``oneOf`` (which no answer can then satisfy): the copy is dropped."""
    if "oneOf" in schema:
        unique: dict[str, Any] = {}
        for variant in schema["oneOf"]:
            unique.setdefault(json.dumps(_bare(variant), sort_keys=True), variant)
        schema["oneOf"] = list(unique.values())
    for variant in schema.get("oneOf", []):
        for outer in variant.get("properties", {}).get("Emails", {}).get("items", {}).get("oneOf", [])[1:]:
            item = outer["items"]["properties"]
            item["code"]["enum"] = _DOC_ONLY_CODES
            item["message"].pop("enum", None)


def _bare(node: Any) -> Any:
    """A schema without its annotations (ids, descriptions), to compare shapes."""
    if isinstance(node, dict):
        return {k: _bare(v) for k, v in node.items() if k not in ("x-zs-$id", "description")}
    if isinstance(node, list):
        return [_bare(v) for v in node]
    return node


def _widen_list_email(schema: dict[str, Any]) -> None:
    """The doc page's sample answers ``linked_record: null`` for an unlinked email and ``cc: null`` for none (the
    OpenAPI file: an object, an array)."""
    email = schema["properties"]["Emails"]["items"] = oas.deref(schema["properties"]["Emails"]["items"])
    for key in ("linked_record", "cc"):  # the doc sample's cc is null too
        email["properties"][key] = {"anyOf": [email["properties"][key], {"type": "null"}]}


def _widen_associate_errors(schema: dict[str, Any]) -> None:
    """The doc page lists per-item DUPLICATE_DATA and INVALID_DATA (an unknown owner or linked record) beside the
    OpenAPI example's MANDATORY_NOT_FOUND, in the same item shape."""
    for i, variant in enumerate(schema.get("oneOf", [])):
        variant = schema["oneOf"][i] = oas.deref(variant)
        if "Emails" in variant.get("properties", {}):
            item = variant["properties"]["Emails"]["items"]
            item["properties"]["code"]["enum"] = ["MANDATORY_NOT_FOUND", "DUPLICATE_DATA", "INVALID_DATA"]


def _widen_single_email(schema: dict[str, Any]) -> None:
    """One email: the doc page's sample has fewer keys than the OpenAPI file's shared ``email`` requires, and no
    ``info``."""
    schema["required"].remove("info")
    email = schema["properties"]["Emails"]["items"] = oas.deref(schema["properties"]["Emails"]["items"])
    email.pop("required")


def _widen_associate_request(schema: dict[str, Any]) -> None:
    """The doc page: ``linked_record`` optional, ``name`` in it; the JSON file's email pattern is a sample, and its
    required ``user_name`` the YAML file leaves optional."""
    item = schema["properties"]["Emails"]["items"] = oas.deref(schema["properties"]["Emails"]["items"])
    item["required"].remove("linked_record")
    for key in ("from", "to", "cc", "bcc"):  # the YAML file requires only the address (its user_name optional)
        holder, slot = (item["properties"][key], "items") if key != "from" else (item["properties"], key)
        address = oas.deref(holder[slot])
        address["properties"]["email"].pop("pattern")
        address["required"] = ["email"]
        holder[slot] = address
    link = item["properties"]["linked_record"] = oas.deref(item["properties"]["linked_record"])
    link["properties"]["name"] = {"type": "string"}


def _schema(name: str, *parts: str, widen: Callable[[Any], None] | None = None) -> Any:
    node = oas.resolve(name, *parts)
    if widen is not None:
        widen(node)
    return oas.validator_for(node)


def request_validators(method: str, path: str) -> list[Any]:
    """Validators for the body of a client request (several when Zoho publishes several files)."""
    if method == "POST" and re.search(r"/Contacts/\d+/Emails/actions/link_record$", path):
        return [_schema("deal_link_emails.yaml", "paths", _LINK, "post", "requestBody", *_JSON)]
    if method == "POST" and re.search(r"/Contacts/\d+/Emails/\w+/actions/link_record$", path):
        return [_schema("deal_link_emails.yaml", "paths", _ONE, "post", "requestBody", *_JSON)]
    if method == "POST" and path.endswith("/actions/associate_email"):
        return [
            _schema("associate_email.json", "components", "schemas", "wrapper", widen=_widen_associate_request),
            _items_of(_schema("associate_email.yaml", "components", "schemas", "EmailObject")),
        ]
    return []


def _items_of(item_validator: Any) -> Any:
    """Validate every element of ``Emails`` with one item schema."""

    class _Each:
        def iter_errors(self, body: Any) -> Any:
            for item in body.get("Emails", []):
                yield from item_validator.iter_errors(item)

    return _Each()


def response_validator(method: str, path: str, status: int, body: Any) -> Any:
    """The validator of an answer, by endpoint and status; size limits take the Associate Email example's form."""
    if isinstance(body, dict) and "maximum_length" in (body.get("details") or {}):
        return _schema("associate_email.yaml", "components", "schemas", "MaximumLengthError")
    if status == 404:
        return _schema("deal_link_emails.yaml", "paths", _LINK, "post", "responses", "404", *_JSON)
    if "/settings/modules" in path:
        if status == 401:
            return _schema("common.json", "components", "schemas", "API_Exception")
        return _schema(
            "modules.json", "components", "responses", "Modules" if status == 200 else "RErrorResponse", *_JSON
        )
    if path.endswith("/actions/associate_email"):
        op = ("paths", "/{module}/{recordId}/actions/associate_email", "post", "responses")
        if status == 207:  # mixed: the doc pages' multi-status; each item is one of the two documented shapes
            success = oas.deref(
                oas.resolve("associate_email.yaml", *op, "201", *_JSON)["properties"]["Emails"]["items"]
            )
            errors = oas.resolve("associate_email.yaml", *op, "400", *_JSON)
            _widen_associate_errors(errors)
            failure = next(v for v in errors["oneOf"] if "Emails" in v.get("properties", {}))
            return oas.validator_for(
                {"properties": {"Emails": {"items": {"oneOf": [success, failure["properties"]["Emails"]["items"]]}}}}
            )
        return _schema("associate_email.yaml", *op, str(status), *_JSON, widen=_widen_associate_errors)
    link = re.search(r"/Contacts/\d+/Emails(/\w+)?/actions/link_record$", path)
    if link:
        op = (_ONE if link.group(1) else _LINK, method.lower(), "responses")
        if status == 207:  # mixed: the doc pages' multi-status; each item is one of the two documented shapes
            success = oas.resolve("deal_link_emails.yaml", "paths", *op, "200", *_JSON)["properties"]["Emails"]["items"]
            errors = oas.resolve("deal_link_emails.yaml", "paths", *op, "400", *_JSON)
            _widen_item_errors(errors)
            failure = errors["oneOf"][0]["properties"]["Emails"]["items"]["oneOf"][1]["items"]
            return oas.validator_for({"properties": {"Emails": {"items": {"oneOf": [success, failure]}}}})
        return _schema("deal_link_emails.yaml", "paths", *op, str(status), *_JSON, widen=_widen_item_errors)
    if re.search(r"/Emails/\w+$", path):
        return _schema("email_related_records.json", "components", "schemas", "wrapper", widen=_widen_single_email)
    if path.endswith("/Emails"):
        if status == 200:
            return _schema("email_related_records.json", "components", "schemas", "wrapper", widen=_widen_list_email)
        return _schema("email_related_records.json", "components", "responses", "ErrorResponse", *_JSON)
    raise AssertionError(f"no schema for {method} {path} {status}")


def assert_contract(recorder: Recorder, *, requests: bool = True) -> int:
    """Validate every recorded request (unless ``requests`` is False: sent raw on purpose) and answer; returns
    how many exchanges were checked."""
    problems: list[str] = []
    exchanges = [(request, response) for request, response in recorder.exchanges if "/crm/v8/" in request.url]
    for request, response in exchanges:
        path = request.url.split("/crm/v8", 1)[-1]
        if requests and request.content:
            body = msgspec.json.decode(request.content)
            for validator in request_validators(request.method, path):
                problems += [f"request {request.method} {path}: {p}" for p in oas.check(validator, body)]
        if requests and request.method == "DELETE" and path.endswith("/actions/link_record"):
            problems += _unlink_params(request)  # Unlink Deal from Emails' query (not Delete Records')
        if response.status == 204:
            continue
        answer = msgspec.json.decode(response.content)
        validator = response_validator(request.method, path, response.status, answer)
        problems += [f"answer {response.status} to {request.method} {path}: {p}" for p in oas.check(validator, answer)]
    assert not problems, "\n".join(problems[:20])
    return len(exchanges)


def _unlink_params(request: Request) -> list[str]:
    params = oas.document("deal_link_emails.yaml")["components"]["parameters"]
    problems = []
    for name, key in (("message_ids", "MessageIds"), ("owner_id", "OwnerId")):
        value = (request.params or {}).get(name)
        if value is None and "Emails/actions" not in request.url and name == "message_ids":
            continue  # the single-email unlink names the email in its path
        problems += [f"query {name}: {p}" for p in oas.check(oas.validator_for(params[key]["schema"]), value)]
    return problems


# -- what the client sends, and what the fake answers to it ---------------------------------------------


async def test_link_without_a_module_id_succeeds_with_one_metadata_request(world: Any) -> None:
    fake, crm, recorder = world
    links = links_for(fake, contacts=40, emails_each=20)

    result = await crm.emails.link_deal(links)

    assert result.counts == {"SUCCESS": 800}
    metadata = [r for r, _ in recorder.exchanges if "/settings/modules" in r.url]
    assert [r.url.rsplit("/crm/v8", 1)[1] for r in metadata] == ["/settings/modules/Deals"]
    assert assert_contract(recorder) == 41


async def test_mixed_and_all_failed_link_answers_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    links = links_for(fake, contacts=2, emails_each=3)
    stranger = fake.add_contact("Stranger")
    other_deal = fake.add_deal("Elsewhere", contact_ids=[stranger])
    await crm.emails.link_deal(links[:1])  # now ALREADY_LINKED
    mixed = [links[0], links[1], DealLink(**{**_fields(links[2]), "deal_id": other_deal})]  # NOT_ALLOWED
    all_failed = [links[0], DealLink(**{**_fields(links[2]), "deal_id": other_deal})]

    first = await crm.emails.link_deal(mixed)
    second = await crm.emails.link_deal(all_failed)
    one = await crm.emails.link(links[3].contact_id, links[3].message_id, deal_id=links[3].deal_id,
                                owner_id=links[3].owner_id)  # fmt: skip
    one_refused = await crm.emails.link(links[3].contact_id, links[3].message_id, deal_id=links[3].deal_id,
                                        owner_id=links[3].owner_id)  # fmt: skip

    assert codes(first) == ["ALREADY_LINKED", "SUCCESS", "NOT_ALLOWED"]
    assert codes(second) == ["ALREADY_LINKED", "NOT_ALLOWED"]
    assert (one.code, one_refused.code) == ("SUCCESS", "ALREADY_LINKED")
    statuses = [response.status for _, response in recorder.exchanges if "link_record" in _.url]
    assert {207, 400, 200} <= set(statuses)
    assert_contract(recorder)


async def test_unlink_answers_and_query_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    links = links_for(fake, contacts=2, emails_each=4)
    await crm.emails.link_deal(links[:3])
    unlinks = [DealUnlink(contact_id=x.contact_id, message_id=x.message_id, owner_id=x.owner_id) for x in links]

    result = await crm.emails.unlink_deal(unlinks)

    assert codes(result) == ["SUCCESS"] * 3 + ["NOT_LINKED"] * 5
    assert result.ok
    assert all(fake.link_of(x.message_id) is None for x in links)
    assert_contract(recorder)


async def test_associate_request_and_answers_keep_the_contract(world: Any) -> None:
    fake, crm, recorder = world
    contact = fake.add_contact("Ada", "ada@example.net")
    emails = [
        AssociateEmail(
            from_=Address(email="ada@example.net", user_name="Ada"),
            to=[Address(email="bob@example.net")],
            subject=f"Hello {i}",
            content="<p>hi</p>",
            date_time="2026-01-02T03:04:05+00:00",
            sent=True,
            original_message_id=f"orig-{i}",
        )
        for i in range(3)
    ]

    first = await crm.emails.associate_emails("Contacts", contact, emails)
    again = await crm.emails.associate_emails("Contacts", contact, emails[:1])

    assert codes(first) == ["SUCCESS"] * 3
    assert codes(again) == ["DUPLICATE_DATA"]
    assert_contract(recorder)


async def test_reading_emails_with_null_fields_keeps_the_contract_and_reads_each_once(world: Any) -> None:
    fake, crm, recorder = world
    seeded = fake.seed_world(contacts=6, emails_per_contact=25)
    assert seeded.sparse_ids, "the suite's fake answers some emails with every nullable field null"

    seen: list[str | None] = []
    for contact in seeded.contact_ids:
        seen += [email.message_id async for email in crm.emails.iterate("Contacts", contact)]
    first = seeded.message_ids[0]
    one = await crm.emails.get("Contacts", seeded.contact_ids[0], first)

    assert sorted(m for m in seen if m is not None) == sorted(seeded.message_ids)
    assert seen.count(None) == len(seeded.sparse_ids)
    assert one.content
    assert_contract(recorder)


# -- answers the client never provokes: sent raw -------------------------------------------------------


async def test_limits_not_found_and_scope_answers_keep_the_contract() -> None:
    recorder = Recorder()
    config = FakeConfig(scope="ZohoCRM.modules.ALL")
    async with FakeZoho(config) as fake, aiohttp.ClientSession() as http:
        token = fake.issue_token()
        owner = fake.add_user("Owner")
        contact = fake.add_contact("C")
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        item = {"message_id": "a1", "owner": {"id": owner},
                "linked_record": {"module": {"api_name": "Deals", "id": "1"}, "id": "2"}}  # fmt: skip
        base = f"{fake.url}/crm/v8"
        calls = [
            ("POST", f"/Contacts/{contact}/Emails/actions/link_record", {"Emails": [item] * 21}, None),
            ("DELETE", f"/Contacts/{contact}/Emails/actions/link_record", None,
             {"owner_id": owner, "message_ids": ",".join(["a" * 96] * 21)}),
            ("POST", f"/Contacts/{contact}/Emails/actions/link_records", {"Emails": [item]}, None),
            ("POST", f"/Contacts/{contact}/Emails/actions/link_record", {"Emails": [{}, {"owner": {"id": owner}}]},
             None),
            ("GET", "/settings/modules/Deals", None, None),
            ("GET", f"/Contacts/{contact}/Emails", None, {"index": "nonsense"}),
        ]  # fmt: skip
        for method, path, body, params in calls:
            async with http.request(method, base + path, json=body, params=params, headers=headers) as answer:
                content = await answer.read()
            url = base + path
            recorder.exchanges.append(
                (Request(method, url, params=params), Response(answer.status, dict(answer.headers), content))
            )
    statuses = [response.status for _, response in recorder.exchanges]
    assert statuses == [400, 400, 404, 400, 401, 400]
    assert_contract(recorder, requests=False)


def codes(result: Any) -> list[str]:
    return [item.code for item in result]


def _fields(link: DealLink) -> dict[str, Any]:
    return {name: getattr(link, name) for name in DealLink.__dataclass_fields__}
