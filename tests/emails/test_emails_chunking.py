"""How Emails groups items into requests: links per contact, 20 a request; unlinks by count and by characters."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.emails.mailbox import (
    API,
    CONTACT_A,
    CONTACT_B,
    DEAL,
    DEALS_MODULE_ID,
    OTHER_DEAL,
    OWNER,
    FakeMailbox,
    link,
    make,
    mid,
    unlink,
)

pytestmark = pytest.mark.anyio


# -- link chunking -------------------------------------------------------------------------------------------


async def test_45_links_for_one_contact_and_3_for_another_take_4_requests() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [link(n, CONTACT_B if n in (10, 30, 47) else CONTACT_A) for n in range(48)]

    result = await crm.emails.link_deal(items)

    posts = [r for r in mailbox.api if r.method == "POST"]
    assert len(posts) == 4 and len(mailbox.api) == 4
    sizes = sorted((r.url, len(json.loads(r.content or b"")["Emails"])) for r in posts)
    assert sizes == sorted([
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 20),
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 20),
        (f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record", 5),
        (f"{API}/Contacts/{CONTACT_B}/Emails/actions/link_record", 3),
    ])
    assert [r.item for r in result] == items
    assert result.ok and result.counts == {"SUCCESS": 48}
    first_body = json.loads(posts[0].content or b"")["Emails"][0]
    assert first_body["linked_record"] == {"module": {"api_name": "Deals", "id": DEALS_MODULE_ID}, "id": DEAL}
    assert first_body["owner"] == {"id": OWNER}


async def test_a_link_chunk_with_refusals_reports_each_item() -> None:
    mailbox = FakeMailbox()
    mailbox.linked[mid(1)] = OTHER_DEAL
    crm, _ = make(mailbox)
    result = await crm.emails.link_deal([link(0), link(1), link(2)])
    assert [r.code for r in result] == ["SUCCESS", "ALREADY_LINKED", "SUCCESS"]
    assert not any(r.method == "GET" for r in mailbox.api)  # not a replay: Zoho's answer stands


# -- unlink chunking -----------------------------------------------------------------------------------------


async def test_unlink_message_ids_are_chunked_by_count() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(n, width=96) for n in range(45)]

    result = await crm.emails.unlink_deal(items)

    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert len(deletes) == 3
    batches = [r.params["message_ids"].split(",") for r in deletes if r.params]
    assert sorted(len(b) for b in batches) == [5, 20, 20]
    assert sorted(i for b in batches for i in b) == sorted(item.message_id for item in items)
    for request in deletes:
        assert request.params is not None
        assert request.params["owner_id"] == OWNER
        assert len(request.params["message_ids"]) <= 2000
        assert request.url == f"{API}/Contacts/{CONTACT_A}/Emails/actions/link_record"
    assert result.ok and [r.item for r in result] == items


async def test_unlink_message_ids_are_chunked_by_characters() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(0, message_id=f"{n:0500d}") for n in range(9)]

    await crm.emails.unlink_deal(items)

    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert [len(r.params["message_ids"].split(",")) for r in deletes if r.params] == [3, 3, 3]
    assert all(r.params is not None and len(r.params["message_ids"]) <= 2000 for r in deletes)
    # the query string Zoho receives stays within its 2,000-character parameter too
    for r in deletes:
        assert r.params is not None
        assert len(urllib.parse.unquote(urllib.parse.urlencode({"m": r.params["message_ids"]}))) - 2 <= 2000


async def test_unlinks_are_grouped_by_contact_and_owner() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(0), unlink(1, contact=CONTACT_B), unlink(2, owner_id="5843104000000424673"), unlink(3)]
    result = await crm.emails.unlink_deal(items)
    deletes = [r for r in mailbox.api if r.method == "DELETE"]
    assert len(deletes) == 3
    assert result.ok and [r.item for r in result] == items
