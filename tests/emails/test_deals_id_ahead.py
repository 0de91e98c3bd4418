"""A link stream given no Deals module id looks it up from the moment it is entered (``Modules.learning``), while
its first items are read, not once the first request is built; every link it sends carries the right id (the
strict FakeZoho refuses a missing or wrong one), with one lookup and the minimum link requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import anyio
import pytest

from tests.fakes import fake_and_client, links_for
from zcrm_async import MissingScopeError, ZohoCRM
from zcrm_async.emails import DealLink
from zcrm_async.testing import FakeConfig

pytestmark = pytest.mark.anyio


def after_the_lookup_started(crm: ZohoCRM, items: Sequence[DealLink]) -> AsyncIterator[DealLink]:
    """The items, the first one only once the client has started its Get Module call: an input a stream that
    looked the id up only when its first request was ready would never get past its first item."""

    async def produce() -> AsyncIterator[DealLink]:
        with anyio.fail_after(5):
            while crm.modules.lookups == 0:  # a counter, not an event: poll it between loop turns
                await anyio.lowlevel.checkpoint()
        for item in items:
            yield item

    return produce()


async def test_the_lookup_goes_out_as_the_stream_starts_and_every_link_carries_its_answer() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=20, latency=0.01)) as (fake, crm):
        items = links_for(fake, contacts=12, emails_each=25)  # 2 requests a contact

        async with crm.emails.link_deal_stream(after_the_lookup_started(crm, items)) as results:
            outcomes = [result async for _, result in results]

        assert [r.code for r in outcomes] == ["SUCCESS"] * len(items)
        assert all(fake.link_of(item.message_id) == item.deal_id for item in items)
        assert {k: n for k, n in fake.stats.requests.items() if k != "token"} == {"get_module": 1, "link_emails": 24}
        assert crm.modules.lookups == 1


async def test_relink_stream_learns_it_the_same_way() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=20)) as (fake, crm):
        items = links_for(fake, contacts=3, emails_each=5)

        async with crm.emails.relink_stream(after_the_lookup_started(crm, items)) as results:
            outcomes = [result async for _, result in results]

        assert [r.code for r in outcomes] == ["SUCCESS"] * len(items)
        assert fake.stats.requests["get_module"] == 1 and fake.stats.requests["link_emails"] == 3


async def test_a_lookup_refused_ahead_stops_the_stream_with_its_error_and_is_not_asked_twice() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=20, scope="ZohoCRM.modules.ALL")) as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=3)

        with pytest.raises(MissingScopeError, match=r"ZohoCRM\.settings\.modules\.READ"):
            async with crm.emails.link_deal_stream(items) as results:
                async for _ in results:
                    pass

        assert fake.stats.requests["get_module"] == 1
        assert fake.stats.requests.get("link_emails", 0) == 0


async def test_a_given_or_known_id_asks_nothing() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=20)) as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=3)
        known = await crm.modules.id_of("Deals")

        async with crm.emails.link_deal_stream(items[:3], deals_module_id=known) as results:
            assert all([r.ok async for _, r in results])
        async with crm.emails.link_deal_stream(items[3:]) as results:
            assert all([r.ok async for _, r in results])

        assert fake.stats.requests["get_module"] == 1 and fake.stats.requests["link_emails"] == 2
