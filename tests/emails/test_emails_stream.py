"""The streaming bulk writes end to end: FakeZoho through the real transport, and MockTransport where a test must
hold requests in flight.

What they promise: any iterable or async iterable in; ``(index, result)`` out as requests complete, each item
once; the minimum number of requests for input sorted by contact; bad items as INVALID_ITEM results, the rest sent;
leaving early cancels every request in flight; the list forms give the same results in input order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import anyio
import pytest

from tests.fakes import NO_DEALS_READ, fake_and_client, links_for
from zcrm_async import BulkStream, ItemResult, Request, Response, RetryPolicy, ZohoCRM
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.models import Address, AssociateEmail
from zcrm_async.testing import FakeConfig, MockTransport, json_response

pytestmark = pytest.mark.anyio


def fields(link: DealLink) -> dict[str, Any]:
    return {"contact_id": link.contact_id, "message_id": link.message_id, "deal_id": link.deal_id,
            "owner_id": link.owner_id}  # fmt: skip


async def drain(stream: BulkStream[Any]) -> dict[int, ItemResult[Any]]:
    got: dict[int, ItemResult[Any]] = {}
    async for index, result in stream:
        assert index not in got, f"item {index} came twice"
        got[index] = result
    return got


def minimum(items: Sequence[DealLink]) -> int:
    return sum(math.ceil(n / 20) for n in Counter(item.contact_id for item in items).values())


async def test_an_async_generator_of_links_streams_every_result_with_its_index_in_the_minimum_requests() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=10)) as (fake, crm):
        items = links_for(fake, contacts=30, emails_each=27)  # sorted by contact, 810 emails

        async def produce() -> AsyncIterator[DealLink]:
            for item in items:
                yield item

        async with crm.emails.link_deal_stream(produce(), window=50) as results:
            got = await drain(results)

        assert sorted(got) == list(range(len(items)))
        assert all(got[i].item == item and got[i].ok for i, item in enumerate(items))
        assert fake.stats.requests["link_emails"] == minimum(items) == 60  # a window smaller than two contacts
        assert all(fake.link_of(item.message_id) == item.deal_id for item in items)


async def test_unsorted_input_within_the_window_still_takes_the_minimum() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=10, emails_each=12)
        shuffled = items[::7] + [item for i, item in enumerate(items) if i % 7]  # every contact spread out
        async with crm.emails.link_deal_stream(iter(shuffled), window=len(items)) as results:
            got = await drain(results)
        assert len(got) == len(items) and all(r.ok for r in got.values())
        assert fake.stats.requests["link_emails"] == minimum(items) == 10


async def test_a_bad_item_and_a_pending_repeat_come_out_invalid_and_the_rest_are_linked() -> None:
    async with fake_and_client() as (fake, crm):
        items: list[Any] = list(links_for(fake, contacts=2, emails_each=5))
        items[2] = DealLink(**{**fields(items[2]), "deal_id": "not-a-deal"})
        items.insert(4, items[3])  # the same email again, while the first is still in the window
        items.insert(6, "not a DealLink")

        async with crm.emails.link_deal_stream(items) as results:
            got = await drain(results)

        refused = {i: r.message for i, r in got.items() if r.code == "INVALID_ITEM"}
        assert set(refused) == {2, 4, 6}
        assert refused[2].startswith("item 2: deal_id must be a numeric Zoho id")
        assert "repeats item 3" in refused[4]
        assert refused[6] == "item 6: expected DealLink, got str"
        assert all(got[i].ok for i in got if i not in refused)
        assert fake.stats.requests["link_emails"] == 2
        assert all(got[i].attempts == 0 for i in refused)  # nothing was sent for them


async def test_the_list_form_takes_an_async_iterable_and_keeps_its_checks_before_sending() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=3, emails_each=4)

        async def produce() -> AsyncIterator[DealLink]:
            for item in items:
                yield item

        result = await crm.emails.link_deal(produce())
        assert [r.item for r in result] == items and result.ok
        with pytest.raises(ValueError, match=r"^item 1: message_id repeats item 0"):
            await crm.emails.link_deal([items[0], items[0]])  # a repeat anywhere in a list is refused, as before


async def test_relink_stream_ends_every_email_on_its_intended_deal_reporting_each_once() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=4, emails_each=25)
        assert (await crm.emails.link_deal(items[:60])).ok  # these need unlink + link
        right = {i.contact_id: fake.add_deal("Right", contact_ids=[i.contact_id]) for i in items}
        wanted = [DealLink(**{**fields(i), "deal_id": right[i.contact_id]}) for i in items]
        links_before = fake.stats.requests["link_emails"]

        async with crm.emails.relink_stream(iter(wanted), window=20) as results:
            got = await drain(results)

        assert sorted(got) == list(range(100)) and all(r.ok for r in got.values())
        assert all(got[i].item == w for i, w in enumerate(wanted))
        assert all(fake.link_of(w.message_id) == w.deal_id for w in wanted)
        # link, read back, unlink, link again: the relinked emails took four attempts, the others one
        assert Counter(r.attempts for r in got.values()) == {4: 60, 1: 40}
        # one unlink per link request that found emails linked elsewhere: two each for the first two contacts (25
        # linked: 20 + 5), one for the third (10): what grouping the 60 by contact would take too
        assert fake.stats.requests["unlink_emails"] == 5
        assert fake.stats.requests["link_emails"] - links_before == 8 + 5  # 8 first links, 5 second


async def test_unlink_deal_stream_groups_by_contact_and_owner_within_the_character_limit() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=30)
        assert (await crm.emails.link_deal(items)).ok
        unlinks = [DealUnlink(contact_id=i.contact_id, message_id=i.message_id, owner_id=i.owner_id) for i in items]
        async with crm.emails.unlink_deal_stream(unlinks, max_chars=300) as results:
            got = await drain(results)
        assert len(got) == 60 and all(r.ok for r in got.values())
        per_request = (300 + 1) // (len(items[0].message_id) + 1)  # n ids and n - 1 commas within 300 characters
        assert fake.stats.requests["unlink_emails"] == 2 * math.ceil(30 / min(20, per_request))
        assert all(fake.link_of(i.message_id) is None for i in items)


async def test_associate_emails_stream_sends_every_email_one_a_request_by_default() -> None:
    async with fake_and_client() as (fake, crm):
        contact = fake.add_contact(name="Ada", email="ada@example.net")
        emails = [
            AssociateEmail(
                from_=Address(email="me@example.net", user_name="Me"), to=[Address(email="ada@example.net")],
                subject=f"Logged {n}", content="<p>hi</p>", date_time="2024-01-02T03:04:05+00:00", sent=True,
                original_message_id=f"orig-{n}",
            )
            for n in range(45)
        ]
        async with crm.emails.associate_emails_stream("Contacts", contact, emails) as results:
            got = await drain(results)
        assert sorted(got) == list(range(45)) and all(r.ok for r in got.values()), Counter(
            r.code for r in got.values()
        )
        assert fake.stats.requests["associate_email"] == 45
        assert len(fake.emails_of(contact)) == 45


# -- leaving early, through MockTransport: requests that never answer -----------------------------------------

OWNER = "5843104000000424672"
DEAL = "5843104000004382122"
DEALS_MODULE = "5843104000000002181"


def contact_links(contacts: int, each: int) -> Iterator[DealLink]:
    for c in range(contacts):
        for m in range(each):
            yield DealLink(contact_id=str(5843104000000425000 + c), message_id=f"m{c}x{m}", deal_id=DEAL,
                           owner_id=OWNER)  # fmt: skip


async def test_leaving_the_block_early_cancels_every_request_in_flight() -> None:
    answered = 0
    waiting = 0
    cancelled = 0
    all_waiting = anyio.Event()

    async def zoho(request: Request) -> Response:
        nonlocal answered, waiting, cancelled
        if request.url.endswith("/oauth/v2/token"):
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        if answered == 0:
            answered += 1
            entry = {"code": "SUCCESS", "status": "success", "message": "ok", "details": {}}
            return json_response(200, {"Emails": [entry] * 20})
        waiting += 1
        if waiting == 4:
            all_waiting.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled += 1
        raise AssertionError("unreachable")

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=MockTransport(zoho),
                  api_domain="https://www.zohoapis.com", retry=RetryPolicy.no_wait(attempts=1))  # fmt: skip
    async with crm:
        with anyio.fail_after(10):
            async with crm.emails.link_deal_stream(
                contact_links(1000, 20), concurrency=4, deals_module_id=DEALS_MODULE
            ) as results:
                async for _, result in results:
                    assert result.ok
                    await all_waiting.wait()
                    break
    assert waiting == cancelled == 4  # every request that was in flight stopped with the block


# -- related records by external id ------------------------------------------------------------------------------


async def test_update_related_by_external_id_stream_sends_100_rows_a_request_and_refuses_a_non_mapping() -> None:
    async with fake_and_client() as (fake, crm):
        fake.add_contact(name="Ada", external_id="extcontact3")
        for n in range(150):
            fake.add_deal(f"Deal {n}", external_id=f"extdeal{n}")

        def rows() -> Iterator[Any]:
            for n in range(150):
                yield {"External_Deal_ID": f"extdeal{n}"}
                if n == 120:
                    yield ["not", "a", "mapping"]

        async with crm.records.update_related_by_external_id_stream(
            "Contacts", "extcontact3", "Deals", rows(),
            external=["Contacts.External_Contact_ID", "Deals.External_Deal_ID"],
        ) as results:  # fmt: skip
            got = await drain(results)

        assert sorted(got) == list(range(151))
        assert got[121].code == "INVALID_ITEM" and "expected a mapping" in got[121].message
        assert all(r.ok for i, r in got.items() if i != 121)
        assert fake.stats.requests["update_related"] == 2


async def test_relink_stream_puts_an_old_link_back_when_the_new_one_is_refused() -> None:
    # Without the Deals read scope relink cannot check the deal first: the refusal comes after the unlink.
    async with fake_and_client(FakeConfig(scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=3)
        assert (await crm.emails.link_deal(links)).ok
        allowed = fake.add_deal("Second", [links[0].contact_id])
        stranger = fake.add_deal("Stranger")  # no contact: NOT_ALLOWED
        moves = [DealLink(**{**fields(x), "deal_id": allowed if x.contact_id == links[0].contact_id else stranger})
                 for x in links]  # fmt: skip

        async with crm.emails.relink_stream(moves) as results:
            got = await drain(results)

        assert [got[i].code for i in range(6)] == ["SUCCESS"] * 3 + ["NOT_ALLOWED"] * 3
        assert all(got[i].details["restored_deal_id"] == links[i].deal_id for i in range(3, 6))
        assert [fake.link_of(x.message_id) for x in links] == [allowed] * 3 + [links[3].deal_id] * 3
