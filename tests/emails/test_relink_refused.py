"""Relink never leaves an email worse off than it found it: when the new link is refused after the unlink, the
old link is put back and the result says both (issue 13, point 2). Real transport against FakeZoho.

Relink reads the target deal's contacts before it unlinks (test_relink_precheck.py); these tests take that
check away (a token without the Deals read scope) to reach the refusal after the unlink, as when the check
cannot be done."""

from __future__ import annotations

import dataclasses

import pytest

from tests.fakes import NO_DEALS_READ, fake_and_client, links_for
from zcrm_async.testing import FakeConfig

pytestmark = pytest.mark.anyio


async def test_a_refused_new_link_puts_the_old_one_back_and_says_both() -> None:
    async with fake_and_client(FakeConfig(seed=31, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=3, emails_each=4)
        assert (await crm.emails.link_deal(links)).ok
        stranger = fake.add_deal("Not this contact's deal")  # no contact associated: linking is NOT_ALLOWED
        moves = [dataclasses.replace(x, deal_id=stranger, deal_name="Not this contact's deal") for x in links]
        reported = []

        result = await crm.emails.relink(moves, on_progress=reported.extend)

        assert result.counts == {"NOT_ALLOWED": 12}, result.counts
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)  # every email back on its old deal
        for item, old in zip(result, links, strict=True):
            assert item.details["restored_deal_id"] == old.deal_id
            assert f"its link to deal {old.deal_id} was put back" in item.message
        assert sorted(r.item.message_id for r in reported) == sorted(x.message_id for x in moves)  # once each
        assert all("put back" in r.message for r in reported)  # reported final, after the restore
        assert fake.stats.requests["get_record"] == 1  # the check was tried, once for the deal, and refused
        assert fake.stats.requests["unlink_emails"] == 3  # then relink went on as without it


async def test_refused_and_allowed_moves_in_one_relink_each_end_right() -> None:
    async with fake_and_client(FakeConfig(seed=32, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=3)
        assert (await crm.emails.link_deal(links)).ok
        allowed = fake.add_deal("Second", [links[0].contact_id])
        stranger = fake.add_deal("Stranger")
        moves = [dataclasses.replace(x, deal_id=allowed if x.contact_id == links[0].contact_id else stranger)
                 for x in links]  # fmt: skip

        result = await crm.emails.relink(moves)

        assert [r.code for r in result] == ["SUCCESS"] * 3 + ["NOT_ALLOWED"] * 3
        assert [fake.link_of(x.message_id) for x in links] == [allowed] * 3 + [links[3].deal_id] * 3
