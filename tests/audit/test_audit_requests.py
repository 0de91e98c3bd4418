"""What reading an org costs: the pages its deals and emails occupy, plus the one Stage metadata request."""

from __future__ import annotations

import math

import pytest

from tests.fakes import fake_and_client
from zcrm_async import Budget
from zcrm_async.audit import Tally, audit
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio]

CONTACTS = 10_000


def seed(fake: FakeZoho) -> tuple[int, int]:
    """Contacts with 0 to 22 emails (1 to 3 requests) and 1 or 2 deals; returns (email pages, deals)."""
    world = fake.world
    owner = world.add_user("Owner")
    pages = deals = 0
    for c in range(CONTACTS):
        contact = world.add_record("Contacts", f"C{c}").id
        made = [world.add_deal(f"D{c}.{d}", [contact]) for d in range(1 + c % 2)]
        deals += len(made)
        emails = c % 23
        for _ in range(emails):
            world.add_email(contact, owner, received=c % 3 != 0)
        if c % 5 == 0:  # closed-lost after its mail arrived: the audit has work
            world.set_stage(made[-1], "Closed Lost")
        pages += max(1, math.ceil(emails / 10))  # an empty list still takes its one request (204)
    return pages, deals


async def test_ten_thousand_contacts_cost_the_pages_they_occupy_plus_one() -> None:
    async with fake_and_client() as (fake, crm):
        email_pages, deals = seed(fake)
        tally = Tally()
        async with audit(crm, "no-closed-lost") as run:
            async for judgement in run:
                tally.add(judgement)
        assert len(run.contact_ids) == CONTACTS and len(run.deals) == deals
        assert tally.read == sum(c % 23 for c in range(CONTACTS))
        assert tally.changes > 0
        requests = fake.stats.requests
        assert requests["get_emails"] == email_pages
        assert requests["get_records"] == math.ceil(deals / 200)  # past 2,000 by page_token, no empty page
        assert requests["get_fields"] == 1
        api = sum(count for name, count in requests.items() if name != "token")
        assert api == email_pages + math.ceil(deals / 200) + 1
        assert crm.counters.requests == api  # nothing retried, nothing throttled


async def test_a_small_org_reads_its_deals_in_one_page() -> None:
    async with fake_and_client() as (fake, crm):
        seeded = fake.seed_misfiled(contacts=30, emails_per_contact=12)
        async with audit(crm, "prediction") as run:
            judged = [judgement async for judgement in run]
        assert len(judged) == len(seeded.message_ids)
        requests = fake.stats.requests
        assert requests["get_emails"] == 30 * 2  # 13 emails each: two pages
        assert requests["get_records"] == 1  # one page of deals says there is no more
        assert requests["get_fields"] == 1


async def test_the_budget_holds_the_audit_under_the_servers_cap() -> None:
    config = FakeConfig(concurrency_cap=4, latency=0.002)
    async with fake_and_client(config, budget=Budget(concurrency=4)) as (fake, crm):
        fake.seed_misfiled(contacts=60, emails_per_contact=12)
        async with audit(crm, "prediction", concurrency=50) as run:  # asks for more than the budget allows
            async for _ in run:
                pass
        assert fake.stats.max_in_flight <= 4
        assert fake.stats.throttled_429 == 0
