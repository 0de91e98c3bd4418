"""A relink stopped between its unlink and its second link loses nothing (issue 21, point 1): ``before_unlink`` is
awaited with where each email is before anything is unlinked, and a relink given those items back puts an email
found on no deal back where it was when its link is refused. Real transport against FakeZoho on 127.0.0.1; the
target deal cannot be read (no Deals read scope), so relink unlinks before it learns the deal refuses the email."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import anyio
import pytest

from tests.fakes import NO_DEALS_READ, fake_and_client, links_for
from zcrm_async import InvalidItemError
from zcrm_async.emails import DealLink
from zcrm_async.testing import FakeConfig

pytestmark = pytest.mark.anyio


def _moved(links: list[DealLink], deal_id: str) -> list[DealLink]:
    return [dataclasses.replace(x, deal_id=deal_id, deal_name=None) for x in links]


async def test_before_unlink_is_awaited_with_each_emails_deal_while_it_is_still_on_it() -> None:
    async with fake_and_client(FakeConfig(seed=51, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=3)
        assert (await crm.emails.link_deal(links)).ok
        a = links[0].contact_id
        second = fake.add_deal("a's second deal", [a])
        stranger = fake.add_deal("Nobody's deal")
        moves = [dataclasses.replace(x, deal_id=second if x.contact_id == a else stranger) for x in links]
        told: list[DealLink] = []
        where_then: dict[str, str | None] = {}

        async def keep(moving: Sequence[DealLink]) -> None:
            told.extend(moving)
            where_then.update({x.message_id: fake.link_of(x.message_id) for x in moving})

        result = await crm.emails.relink(moves, before_unlink=keep)

        assert [r.code for r in result] == ["SUCCESS"] * 3 + ["NOT_ALLOWED"] * 3
        assert sorted(x.message_id for x in told) == sorted(x.message_id for x in links)
        before = {x.message_id: x.deal_id for x in links}
        assert {x.message_id: x.previous_deal_id for x in told} == before
        assert where_then == before  # nothing was unlinked yet when the hook ran
        assert {x.deal_id for x in told} == {second, stranger}  # the links as asked, with where each was
        assert all(r.details["previous_deal_id"] == x.deal_id for r, x in zip(result, links, strict=True))
        assert all(r.details["restored_deal_id"] == x.deal_id for r, x in zip(result[3:], links[3:], strict=True))


async def test_a_relink_cancelled_after_its_unlinks_is_resumed_and_every_email_ends_where_it_should() -> None:
    async with fake_and_client(FakeConfig(seed=52, scope=NO_DEALS_READ, latency=0.02)) as (fake, crm):
        links = links_for(fake, contacts=6, emails_each=3)
        assert (await crm.emails.link_deal(links)).ok
        allowed = {x.contact_id: fake.add_deal(f"second of {x.contact_id}", [x.contact_id]) for x in links[::6]}
        stranger = fake.add_deal("Nobody's deal")
        moves = [dataclasses.replace(x, deal_id=allowed.get(x.contact_id, stranger)) for x in links]
        kept: dict[str, DealLink] = {}

        async def keep(moving: Sequence[DealLink]) -> None:
            kept.update({x.message_id: x for x in moving})

        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:

                refused = [x for x, move in zip(links, moves, strict=True) if move.deal_id == stranger]

                async def stop_once_one_is_on_no_deal() -> None:
                    # The fake's world has no event for "an email is on no deal": polled, every millisecond.
                    while all(fake.link_of(x.message_id) is not None for x in refused):  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                    scope.cancel()  # as a kill would: between an unlink and the link after it

                tg.start_soon(stop_once_one_is_on_no_deal)
                await crm.emails.relink(moves, before_unlink=keep, concurrency=6)
        stranded = [x for x in links if fake.link_of(x.message_id) is None]
        assert stranded, "the cancel should land after an unlink"
        assert all(x.message_id in kept for x in stranded)  # each was handed over before its unlink

        resumed = [kept.get(x.message_id, x) for x in moves]  # what a journal would give back
        result = await crm.emails.relink(resumed)

        for item, before, move in zip(result, links, moves, strict=True):
            if move.deal_id == stranger:
                assert fake.link_of(before.message_id) == before.deal_id, item
                assert item.code == "NOT_ALLOWED"
            else:
                assert fake.link_of(before.message_id) == move.deal_id, item
                assert item.ok
        back = [r for r in result if r.item.message_id in {x.message_id for x in stranded} and not r.ok]
        assert back and all(r.details["restored_deal_id"] == r.details["previous_deal_id"] for r in back)
        assert all(f"its link to deal {r.details['previous_deal_id']} was put back" in r.message for r in back)


async def test_an_email_on_no_deal_whose_previous_deal_is_given_is_put_back_when_its_link_is_refused() -> None:
    async with fake_and_client(FakeConfig(seed=53, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=2)  # unlinked: as a stopped relink leaves them
        stranger = fake.add_deal("Nobody's deal")
        items = [dataclasses.replace(x, deal_id=stranger, previous_deal_id=x.deal_id) for x in links]

        async with crm.emails.relink_stream(items) as stream:
            results = [result async for _, result in stream]

        assert {r.code for r in results} == {"NOT_ALLOWED"}
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)
        assert all(r.details["restored_deal_id"] == r.item.previous_deal_id for r in results)
        assert fake.stats.requests["unlink_emails"] == 0


async def test_an_email_on_another_deal_is_not_taken_for_a_stranded_one() -> None:
    async with fake_and_client(FakeConfig(seed=54, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=1, emails_each=2)
        assert (await crm.emails.link_deal(links)).ok  # on the contact's deal, which the user moved it to
        elsewhere = fake.add_deal("Where a stopped relink found it")
        stranger = fake.add_deal("Nobody's deal")
        items = [dataclasses.replace(x, deal_id=stranger, previous_deal_id=elsewhere) for x in links]

        result = await crm.emails.relink(items)

        assert result.counts == {"NOT_ALLOWED": 2}
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)  # where it is now, not the older deal
        assert all(r.details["restored_deal_id"] == x.deal_id for r, x in zip(result, links, strict=True))


async def test_a_failing_hook_stops_the_relink_before_any_unlink() -> None:
    async with fake_and_client(FakeConfig(seed=55, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=1, emails_each=2)
        assert (await crm.emails.link_deal(links)).ok
        stranger = fake.add_deal("Nobody's deal")

        async def refuse(moving: Sequence[DealLink]) -> None:
            raise OSError("the journal's disk is full")

        with pytest.raises(OSError, match="disk is full"):
            await crm.emails.relink(_moved(links, stranger), before_unlink=refuse)

        assert fake.stats.requests["unlink_emails"] == 0
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)


async def test_a_bad_previous_deal_id_is_refused_before_anything_is_sent() -> None:
    async with fake_and_client(FakeConfig(seed=56)) as (fake, crm):
        links = links_for(fake, contacts=1, emails_each=1)
        with pytest.raises(InvalidItemError, match="previous_deal_id"):
            await crm.emails.relink([dataclasses.replace(links[0], previous_deal_id="not-an-id")])
        assert fake.stats.requests["link_emails"] == 0
