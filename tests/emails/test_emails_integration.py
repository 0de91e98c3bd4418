"""The Emails resource end to end: the real aiohttp transport against FakeZoho on 127.0.0.1."""

from __future__ import annotations

import math
from collections import Counter

import anyio
import pytest

from tests.fakes import fake_and_client, links_for
from zcrm_async import AuthenticationError, Budget, RetryPolicy
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.models import Address, AssociateEmail, LinkedRecord, ModuleRef
from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig

pytestmark = pytest.mark.anyio


async def test_link_5000_emails_across_200_contacts_sends_the_minimum_and_matches_the_server() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=20)) as (fake, crm):
        items = links_for(fake, contacts=200, emails_each=25)
        result = await crm.emails.link_deal(items)

        per_contact = Counter(item.contact_id for item in items)
        minimum = sum(math.ceil(n / 20) for n in per_contact.values())
        assert fake.stats.requests["link_emails"] == minimum == 400
        assert len(result) == 5000 and result.ok
        assert [r.item for r in result] == items  # input order, each item once
        assert all(fake.link_of(item.message_id) == item.deal_id for item in items)
        assert fake.stats.throttled_429 == 0


async def test_mixed_outcomes_land_on_the_right_items() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=6)
        other_deal = fake.add_deal("Unrelated deal")  # no contact: NOT_ALLOWED
        already = items[1]
        assert (await crm.emails.link_deal([already])).ok
        items[3] = DealLink(**{**_fields(items[3]), "deal_id": other_deal})
        items[5] = DealLink(**{**_fields(items[5]), "message_id": "0" * 64})  # not an email of the contact
        items[8] = DealLink(**{**_fields(items[8]), "deal_id": other_deal})

        result = await crm.emails.link_deal(items)

        codes = [r.code for r in result]
        assert codes[1] == "ALREADY_LINKED"
        assert codes[3] == codes[8] == "NOT_ALLOWED"
        assert codes[5] == "INVALID_DATA"
        assert {codes[i] for i in (0, 2, 4, 6, 7, 9, 10, 11)} == {"SUCCESS"}
        assert result.counts == {"SUCCESS": 8, "ALREADY_LINKED": 1, "NOT_ALLOWED": 2, "INVALID_DATA": 1}
        for item, r in zip(items, result, strict=True):
            linked = fake.link_of(item.message_id)
            assert (linked == item.deal_id) == (r.ok or r.code == "ALREADY_LINKED")


def _fields(link: DealLink) -> dict[str, str | None]:
    return {
        "contact_id": link.contact_id,
        "message_id": link.message_id,
        "deal_id": link.deal_id,
        "owner_id": link.owner_id,
        "deal_name": link.deal_name,
        "owner_name": link.owner_name,
    }


async def test_iterating_200_contacts_with_40_emails_returns_each_email_once() -> None:
    async with fake_and_client() as (fake, crm):
        owner = fake.add_user("Owner")
        expected: dict[str, set[str]] = {}
        for c in range(200):
            contact = fake.add_contact(name=f"C{c}")
            expected[contact] = {fake.add_email(contact, owner, received=False) for _ in range(40)}

        seen: Counter[tuple[str, str]] = Counter()
        async with crm.emails.iterate_many("Contacts", list(expected), concurrency=10, buffer=50) as stream:
            async for record_id, email in stream:
                seen[(record_id, email.message_id)] += 1

        assert set(seen.values()) == {1}
        assert {key for key in seen} == {(c, m) for c, ms in expected.items() for m in ms}
        assert fake.stats.requests["get_emails"] == 200 * 4  # 10 a page


async def test_breaking_out_of_iterate_many_stops_cleanly() -> None:
    async with fake_and_client(FakeConfig(latency=0.01)) as (fake, crm):
        owner = fake.add_user("Owner")
        contacts = [fake.add_contact(name=f"C{c}") for c in range(50)]
        for contact in contacts:
            for _ in range(30):
                fake.add_email(contact, owner, received=False)
        taken = 0
        async with crm.emails.iterate_many("Contacts", contacts, concurrency=5, buffer=2) as stream:
            async for _ in stream:
                taken += 1
                if taken == 15:
                    break
        requests_then = fake.stats.requests["get_emails"]
        await anyio.sleep(0.05)  # nothing keeps running in the background after the block
        assert fake.stats.requests["get_emails"] == requests_then
        assert requests_then < 50 * 3


async def test_get_one_email_with_its_body_and_pages_by_cursor() -> None:
    async with fake_and_client() as (fake, crm):
        owner = fake.add_user("Owner")
        contact = fake.add_contact(name="Ada")
        ids = [fake.add_email(contact, owner, received=False, content=f"<p>{i}</p>") for i in range(25)]
        first = await crm.emails.page("Contacts", contact)
        assert len(first.Emails) == 10 and first.info.more_records
        second = await crm.emails.page("Contacts", contact, index=first.info.next_index)
        assert {e.message_id for e in second.Emails}.isdisjoint({e.message_id for e in first.Emails})
        email = await crm.emails.get("Contacts", contact, ids[3])
        assert email.content == "<p>3</p>"
        empty = fake.add_contact(name="No mail")
        assert (await crm.emails.page("Contacts", empty)).Emails == []
        assert [e async for e in crm.emails.iterate("Contacts", empty)] == []


async def test_unlink_and_relink_end_in_the_intended_state() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=3, emails_each=30)
        assert (await crm.emails.link_deal(items)).ok
        unlinked = await crm.emails.unlink_deal(
            [DealUnlink(contact_id=i.contact_id, message_id=i.message_id, owner_id=i.owner_id) for i in items[:45]]
        )
        assert unlinked.ok and all(fake.link_of(i.message_id) is None for i in items[:45])
        assert fake.stats.requests["unlink_emails"] == 3  # 30 + 15 ids for two contacts: 20+10, 15

        right_deals = {i.contact_id: fake.add_deal("Right deal", contact_ids=[i.contact_id]) for i in items}
        wanted = [DealLink(**{**_fields(i), "deal_id": right_deals[i.contact_id]}) for i in items]
        relinked = await crm.emails.relink(wanted)
        assert relinked.ok, relinked.counts
        assert all(fake.link_of(w.message_id) == w.deal_id for w in wanted)


async def test_associate_reports_duplicate_data_on_the_item() -> None:
    async with fake_and_client() as (fake, crm):
        contact = fake.add_contact(name="Ada", email="ada@example.net")

        def email(original: str) -> AssociateEmail:
            return AssociateEmail(
                from_=Address(email="me@example.net", user_name="Me"),
                to=[Address(email="ada@example.net", user_name="Ada")],
                subject="Logged",
                content="<p>hi</p>",
                date_time="2024-01-02T03:04:05+00:00",
                sent=True,
                original_message_id=original,
            )

        first = await crm.emails.associate_emails("Contacts", contact, [email(f"orig-{i}") for i in range(25)])
        assert first.ok and len(fake.emails_of(contact)) == 25
        again = await crm.emails.associate_emails("Contacts", contact, [email("orig-3"), email("new-1")])
        assert [r.code for r in again] == ["DUPLICATE_DATA", "SUCCESS"]


async def test_associate_links_a_deal_named_in_linked_record() -> None:
    async with fake_and_client() as (fake, crm):
        contact = fake.add_contact(name="Ada", email="ada@example.net")
        deal = fake.add_deal("Deal", contact_ids=[contact])
        item = AssociateEmail(
            from_=Address(email="me@example.net"),
            to=[Address(email="ada@example.net")],
            subject="s",
            content="c",
            date_time="2024-01-02T03:04:05+00:00",
            sent=False,
            original_message_id="abc",
            linked_record=LinkedRecord(module=ModuleRef(api_name="Deals"), id=deal),
        )
        result = await crm.emails.associate_emails("Contacts", contact, [item])
        assert result.ok
        new_id = result[0].details["message_id"]
        assert fake.link_of(new_id) == deal


async def test_single_message_link_uses_the_single_endpoint() -> None:
    async with fake_and_client() as (fake, crm):
        (item,) = links_for(fake, contacts=1, emails_each=1)
        result = await crm.emails.link(
            item.contact_id, item.message_id, deal_id=item.deal_id, owner_id=item.owner_id, deal_name=item.deal_name
        )
        assert result.ok and fake.link_of(item.message_id) == item.deal_id
        assert fake.stats.requests["link_email"] == 1
        again = await crm.emails.link(item.contact_id, item.message_id, deal_id=item.deal_id, owner_id=item.owner_id)
        assert again.code == "ALREADY_LINKED" and not again.ok


async def test_faults_5xx_and_dropped_connections_report_every_item_correctly() -> None:
    config = FakeConfig(error_rate=0.05, drop_rate=0.02, lost_response_rate=0.02, seed=7)
    async with fake_and_client(config, retry=RetryPolicy(initial=0.001, maximum=0.01, attempts=12)) as (fake, crm):
        items = links_for(fake, contacts=250, emails_each=20)
        result = await crm.emails.link_deal(items)

        assert fake.stats.errors_500 > 0 and fake.stats.dropped > 0 and fake.stats.lost_responses > 0
        assert result.counts == {"SUCCESS": 5000}, result.counts  # no false ALREADY_LINKED
        assert all(fake.link_of(item.message_id) == item.deal_id for item in items)


async def test_a_chunk_that_fails_at_request_level_fails_only_its_items() -> None:
    config = FakeConfig(error_rate=1.0)
    async with fake_and_client(config, retry=RetryPolicy.no_wait(attempts=2)) as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=3)
        result = await crm.emails.link_deal(items, deals_module_id=DEALS_MODULE_ID)
        assert len(result) == 6
        assert result.counts == {"INTERNAL_ERROR": 6}
        assert all(r.attempts == 3 for r in result)  # two tries, then a read-back (a 5xx may hide an applied write)
        assert all(fake.link_of(item.message_id) is None for item in items)


async def test_refreshes_once_per_expiry_and_replays_after_invalid_token() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=20, emails_each=5)
        await crm.emails.link_deal(items[:50])
        assert fake.stats.token_refreshes == 1
        fake.expire_tokens()
        result = await crm.emails.link_deal(items[50:])
        assert result.ok
        assert fake.stats.token_refreshes == 2
        assert crm.token_refreshes == 2


async def test_revoked_refresh_token_raises_authentication_error() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=1, emails_each=2)
        fake.revoke_refresh_token()
        with pytest.raises(AuthenticationError) as caught:
            await crm.emails.link_deal(items)
        assert caught.value.code == "invalid_code"
        assert "fake-refresh-token" not in str(caught.value)


async def test_no_429_when_the_budget_matches_the_server_cap() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=10, latency=0.01), budget=Budget(concurrency=10)) as (
        fake,
        crm,
    ):
        owner = fake.add_user("Owner")
        contacts = [fake.add_contact(name=f"C{c}") for c in range(300)]
        for contact in contacts:
            fake.add_email(contact, owner, received=False)
        async with anyio.create_task_group() as tg:
            for contact in contacts:
                tg.start_soon(crm.emails.page, "Contacts", contact)
        assert fake.stats.throttled_429 == 0
        assert fake.stats.max_in_flight == 10


async def test_a_client_configured_above_the_server_cap_adapts() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=8, latency=0.01), budget=Budget(concurrency=12)) as (
        fake,
        crm,
    ):
        owner = fake.add_user("Owner")
        contacts = [fake.add_contact(name=f"C{c}") for c in range(600)]
        for contact in contacts:
            fake.add_email(contact, owner, received=False)

        async def read(contact: str) -> None:
            await crm.emails.page("Contacts", contact)

        async with anyio.create_task_group() as tg:
            for contact in contacts[:300]:
                tg.start_soon(read, contact)
        early = fake.stats.throttled_429
        assert early > 0  # the server's cap is lower than configured: it answered 429s...
        assert crm.limiter.concurrency <= 8  # ...and the client found it
        async with anyio.create_task_group() as tg:
            for contact in contacts[300:]:
                tg.start_soon(read, contact)
        assert fake.stats.throttled_429 == early  # no more 429s once adapted


async def test_relink_reports_each_final_outcome_once_as_it_happens() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=4, emails_each=25)
        assert (await crm.emails.link_deal(items[:60])).ok  # these will need unlink + link
        right = {i.contact_id: fake.add_deal("Right", contact_ids=[i.contact_id]) for i in items}
        wanted = [DealLink(**{**_fields(i), "deal_id": right[i.contact_id]}) for i in items]
        calls: list[list[str]] = []

        result = await crm.emails.relink(wanted, on_progress=lambda rs: calls.append([r.item.message_id for r in rs]))

        reported = [m for call in calls for m in call]
        assert sorted(reported) == sorted(w.message_id for w in wanted)  # each once, none missing
        assert len([c for c in calls if c]) > 2  # per request, not one call at the end
        assert result.ok and all(fake.link_of(w.message_id) == w.deal_id for w in wanted)


async def test_a_module_other_than_deals_is_refused_before_sending() -> None:
    async with fake_and_client() as (fake, crm):
        items = links_for(fake, contacts=2, emails_each=2)
        items[3] = DealLink(**{**_fields(items[3]), "module": "Contacts"})
        with pytest.raises(ValueError, match=r"item 3: module must be 'Deals'"):
            await crm.emails.link_deal(items)
        assert fake.stats.requests["link_emails"] == 0 and fake.stats.token_refreshes == 0


async def test_cancelling_the_consumer_of_iterate_many_stops_every_request() -> None:
    async with fake_and_client(FakeConfig(latency=0.01)) as (fake, crm):
        owner = fake.add_user("Owner")
        contacts = [fake.add_contact(name=f"C{c}") for c in range(40)]
        for contact in contacts:
            for _ in range(30):
                fake.add_email(contact, owner, received=False)
        taken = 0
        with anyio.CancelScope() as scope:
            async with crm.emails.iterate_many("Contacts", contacts, concurrency=4, buffer=1) as stream:
                async for _ in stream:
                    taken += 1
                    if taken == 12:
                        scope.cancel()
        assert scope.cancelled_caught
        requests_then = fake.stats.requests["get_emails"]
        await anyio.sleep(0.05)
        assert fake.stats.requests["get_emails"] == requests_then < 40 * 3


async def test_a_thousand_concurrent_requests_through_an_expired_token_refresh_once() -> None:
    async with fake_and_client(FakeConfig(concurrency_cap=25), budget=Budget(concurrency=25)) as (fake, crm):
        contact = fake.add_contact(name="Ada")
        await crm.emails.page("Contacts", contact)
        assert fake.stats.token_refreshes == 1
        fake.expire_tokens()  # every request in flight now gets 401 INVALID_TOKEN

        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(crm.emails.page, "Contacts", contact)

        assert fake.stats.token_refreshes == 2
        assert fake.stats.requests["get_emails"] >= 1001


async def test_tokens_expiring_under_load_refresh_once_per_expiry_and_lose_nothing() -> None:
    now = [1000.0]
    config = FakeConfig(token_ttl=3600, clock=lambda: now[0], concurrency_cap=20, latency=0.002)
    async with fake_and_client(config) as (fake, crm):
        contacts = [fake.add_contact(name=f"C{i}") for i in range(50)]
        done = 0
        expiries = 0

        async def read(contact: str) -> None:
            nonlocal done, expiries
            await crm.emails.page("Contacts", contact)  # raises if a request is lost to an expired token
            done += 1
            if done % 400 == 0:  # the server's clock jumps past every token's life, mid-flight
                now[0] += 3601
                expiries += 1

        async with anyio.create_task_group() as tg:
            for i in range(2000):
                tg.start_soon(read, contacts[i % len(contacts)])

        assert done == 2000 and expiries == 5
        assert fake.stats.token_refreshes == 1 + expiries - 1  # the last jump comes after the last request
        assert fake.stats.throttled_429 == 0
