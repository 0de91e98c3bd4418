"""Planning: the requests a bulk call would send, without sending them, are exactly the requests it sends; and
input is checked item by item, every bad item reported with its index, field and problem."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.emails.mailbox import API, CONTACT_A, CONTACT_B, DEAL, OWNER, FakeMailbox, link, make, mid, unlink
from zcrm_async import DealLink, DealUnlink, InvalidItemError, ItemProblem, PlannedRequest
from zcrm_async.emails import find_problems, plan_link_deal, plan_relink, plan_unlink_deal

pytestmark = pytest.mark.anyio

MODULE_ID = "5843104000000002181"


def sent(mailbox: FakeMailbox) -> list[tuple[str, str, bytes | None, dict[str, str] | None]]:
    return [
        (request.method, request.url.removeprefix(API), request.content, dict(request.params or {}) or None)
        for request in mailbox.api
        if not request.url.endswith("/Emails")  # read-backs are not part of the plan
    ]


def planned(requests: list[PlannedRequest[object]]) -> list[tuple[str, str, bytes | None, dict[str, str] | None]]:
    return [(request.method, request.path, request.body, dict(request.params or {}) or None) for request in requests]


async def test_plan_link_deal_is_what_link_deal_sends() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [link(n) for n in range(25)] + [link(n, contact=CONTACT_B) for n in range(25, 30)]
    async with crm:
        plan = crm.emails.plan_link_deal(items, deals_module_id=MODULE_ID)
        assert mailbox.api == []  # planning sends nothing
        result = await crm.emails.link_deal(items, deals_module_id=MODULE_ID, concurrency=1)
    assert result.ok
    assert planned(plan) == sent(mailbox)
    assert [len(request.items) for request in plan] == [20, 5, 5]
    assert [item.contact_id for item in plan[2].items] == [CONTACT_B] * 5


async def test_plan_unlink_deal_is_what_unlink_deal_sends() -> None:
    mailbox = FakeMailbox()
    crm, _ = make(mailbox)
    items = [unlink(n, width=120) for n in range(30)]
    async with crm:
        plan = crm.emails.plan_unlink_deal(items)
        result = await crm.emails.unlink_deal(items, concurrency=1)
    assert result.ok
    assert planned(plan) == sent(mailbox)
    assert all(len(request.params["message_ids"]) <= 2000 for request in plan if request.params)


def test_a_planned_link_carries_the_deals_module_id_and_its_target() -> None:
    (request,) = plan_link_deal([link(1)], deals_module_id=MODULE_ID)
    assert request.method == "POST"
    assert request.target == f"/crm/v8/Contacts/{CONTACT_A}/Emails/actions/link_record"
    assert request.body is not None
    (email,) = json.loads(request.body)["Emails"]
    assert email["linked_record"] == {"module": {"api_name": "Deals", "id": MODULE_ID}, "id": DEAL}
    assert email["owner"] == {"id": OWNER} and email["message_id"] == mid(1)


def test_a_planned_unlink_shows_its_query_in_the_target() -> None:
    (request,) = plan_unlink_deal([unlink(1), unlink(2)])
    assert request.method == "DELETE" and request.body is None
    query = urllib.parse.urlencode({"owner_id": OWNER, "message_ids": f"{mid(1)},{mid(2)}"})
    assert request.target == f"/crm/v8/Contacts/{CONTACT_A}/Emails/actions/link_record?{query}"


def test_plan_relink_is_its_first_round_of_links() -> None:
    items = [link(n) for n in range(3)]
    assert planned(plan_relink(items)) == planned(plan_link_deal(items))


def test_planning_refuses_what_sending_refuses() -> None:
    with pytest.raises(InvalidItemError, match="item 1: deal_id must be a numeric Zoho id"):
        plan_link_deal([link(1), link(2, deal_id="x")])
    with pytest.raises(ValueError, match="empty"):
        plan_unlink_deal([])


def test_find_problems_reports_every_bad_item_by_index_and_field() -> None:
    items: list[DealLink | DealUnlink] = [
        link(1),
        link(2, contact="12x"),
        link(3, message_id="abc-1"),
        link(1),  # the same email of the same contact as item 0
        unlink(4, owner_id=""),
        link(5, module="Leads"),
    ]
    problems = find_problems(items)
    assert [(p.index, p.field) for p in problems] == [
        (1, "contact_id"), (2, "message_id"), (3, "message_id"), (4, "owner_id"), (5, "module"),
    ]  # fmt: skip
    assert problems[0].message == "must be a numeric Zoho id, got '12x'"
    assert problems[2] == ItemProblem(3, "message_id", "repeats item 0 (the same email of the same contact)", 0)
    assert str(problems[3]) == "item 4: owner_id is missing"
    assert find_problems([link(1), unlink(2)]) == []


def test_the_first_problem_is_what_a_bulk_call_raises() -> None:
    items = [link(1), link(2, owner_id="x"), link(3, deal_id="")]
    first = find_problems(items)[0]
    with pytest.raises(InvalidItemError) as raised:
        plan_link_deal(items)
    assert (raised.value.index, raised.value.field, raised.value.problem) == (first.index, first.field, first.message)
