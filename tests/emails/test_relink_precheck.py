"""Relink reads the target deal's contacts before it unlinks anything (issue 13, point 2): an email whose contact
is not associated with the deal is not moved, and no write is sent for it. Real transport against FakeZoho on
127.0.0.1; requests are counted by FakeZoho, by endpoint."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from tests.fakes import NO_DEALS_READ, fake_and_client, links_for
from zcrm_async import ItemResult
from zcrm_async.emails import DealLink

# private on purpose: DealContacts' cache, which relink uses and no public name exposes
from zcrm_async.emails._deal_contacts import DealContacts
from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

_WRITES = ("link_emails", "unlink_emails")


def _moved(links: list[DealLink], deal_id: str) -> list[DealLink]:
    return [dataclasses.replace(x, deal_id=deal_id, deal_name=None) for x in links]


def _requests(fake: FakeZoho) -> Counter[str]:
    return Counter({name: n for name, n in fake.stats.requests.items() if name != "token"})


async def test_a_relink_to_a_deal_of_another_contact_sends_no_unlink_and_leaves_each_email_where_it_was() -> None:
    async with fake_and_client(FakeConfig(seed=41)) as (fake, crm):
        links = links_for(fake, contacts=3, emails_each=4)
        assert (await crm.emails.link_deal(links)).ok
        someone_else = fake.add_contact("Someone Else")
        theirs = fake.add_deal("Someone else's deal", [someone_else])
        fake.reset_stats()

        result = await crm.emails.relink(_moved(links, theirs), deals_module_id=DEALS_MODULE_ID)

        assert result.counts == {"NOT_ALLOWED": 12}, result.counts
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)  # each still on its own deal
        for item, before in zip(result, links, strict=True):
            assert item.details == {"deal_not_associated": True, "linked_deal_id": before.deal_id}
            assert f"deal {theirs} is not associated with contact {before.contact_id}" in item.message
            assert f"nothing was unlinked, it stays linked to deal {before.deal_id}" in item.message
        requests = _requests(fake)
        assert requests["unlink_emails"] == 0  # the point: no unlink, so no window on no deal
        # Per contact one link (answered ALREADY_LINKED) and one read back; for the deal one Get Record and one
        # contact-roles read, whatever the number of contacts.
        assert requests == {"link_emails": 3, "get_emails": 3, "get_record": 1, "get_contact_roles": 1}, requests


async def test_a_mixed_relink_moves_the_allowed_emails_with_the_fewest_requests() -> None:
    async with fake_and_client(FakeConfig(seed=42)) as (fake, crm):
        links = links_for(fake, contacts=3, emails_each=2)  # contacts a, b, c, each on its own deal
        assert (await crm.emails.link_deal(links)).ok
        a, b, c = links[0].contact_id, links[2].contact_id, links[4].contact_id
        target = fake.add_deal("Shared", [a, b])  # a is its Contact_Name, b has a contact role; c is not on it
        fake.reset_stats()

        result = await crm.emails.relink(_moved(links, target), deals_module_id=DEALS_MODULE_ID)

        assert [r.code for r in result] == ["SUCCESS"] * 4 + ["NOT_ALLOWED"] * 2
        assert [fake.link_of(x.message_id) for x in links] == [target] * 4 + [links[4].deal_id] * 2
        assert all(c == r.item.contact_id for r in result if not r.ok)
        requests = _requests(fake)
        # a and b: link, read back, unlink, link again; c: link, read back; the deal read once (its Contact_Name
        # is a; b and c are looked up on its contact roles, read once).
        assert requests == {
            "link_emails": 5, "unlink_emails": 2, "get_emails": 3, "get_record": 1, "get_contact_roles": 1,
        }, requests  # fmt: skip


async def test_an_email_not_linked_yet_needs_no_check() -> None:
    async with fake_and_client(FakeConfig(seed=43)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=2)  # not linked: relink's first link settles them
        theirs = fake.add_deal("Nobody's deal")
        fake.reset_stats()

        result = await crm.emails.relink(_moved(links, theirs), deals_module_id=DEALS_MODULE_ID)

        assert result.counts == {"NOT_ALLOWED": 4}  # Zoho's own answer to the first link
        assert "deal_not_associated" not in result[0].details
        assert _requests(fake) == {"link_emails": 2}  # nothing to unlink, so nothing read


async def test_when_the_deal_cannot_be_read_relink_goes_on_as_without_the_check() -> None:
    async with fake_and_client(FakeConfig(seed=44, scope=NO_DEALS_READ)) as (fake, crm):
        links = links_for(fake, contacts=2, emails_each=2)
        assert (await crm.emails.link_deal(links)).ok
        a = links[0].contact_id
        allowed = fake.add_deal("a's second deal", [a])
        theirs = fake.add_deal("Nobody's deal")
        moves = [dataclasses.replace(x, deal_id=allowed if x.contact_id == a else theirs) for x in links]
        fake.reset_stats()

        result = await crm.emails.relink(moves, deals_module_id=DEALS_MODULE_ID)

        assert [r.code for r in result] == ["SUCCESS"] * 2 + ["NOT_ALLOWED"] * 2
        assert all(r.details.get("restored_deal_id") == x.deal_id for r, x in zip(result[2:], links[2:], strict=True))
        assert [fake.link_of(x.message_id) for x in links] == [allowed] * 2 + [links[2].deal_id] * 2
        requests = _requests(fake)
        assert requests["get_record"] == 2 and "get_contact_roles" not in requests  # each deal tried once, refused
        assert requests["unlink_emails"] == 2  # not failed for it: unlinked, linked, and put back where refused


async def test_a_deal_that_does_not_exist_is_not_refused_by_the_check() -> None:
    async with fake_and_client(FakeConfig(seed=45)) as (fake, crm):
        links = links_for(fake, contacts=1, emails_each=2)
        assert (await crm.emails.link_deal(links)).ok

        result = await crm.emails.relink(_moved(links, "5843104000099999999"), deals_module_id=DEALS_MODULE_ID)

        # Get Record answers INVALID_DATA: the check cannot tell, Zoho's answer to the link decides; put back.
        assert result.counts == {"INVALID_DATA": 2}, result.counts
        assert all(fake.link_of(x.message_id) == x.deal_id for x in links)


async def test_relink_stream_reads_each_deal_once_and_refuses_without_writing() -> None:
    async with fake_and_client(FakeConfig(seed=46)) as (fake, crm):
        links = links_for(fake, contacts=6, emails_each=2)
        assert (await crm.emails.link_deal(links)).ok
        first = links[0].contact_id
        target = fake.add_deal("First contact's second deal", [first])
        fake.reset_stats()

        got: dict[int, ItemResult[DealLink]] = {}
        async with crm.emails.relink_stream(_moved(links, target), deals_module_id=DEALS_MODULE_ID) as stream:
            async for index, result in stream:
                got[index] = result

        assert [got[i].code for i in range(12)] == ["SUCCESS"] * 2 + ["NOT_ALLOWED"] * 10
        assert [fake.link_of(x.message_id) for x in links] == [target] * 2 + [x.deal_id for x in links[2:]]
        requests = _requests(fake)
        assert (requests["get_record"], requests["get_contact_roles"]) == (1, 1)  # across six contacts' requests
        assert (requests["link_emails"], requests["unlink_emails"]) == (7, 1)  # 6 first links + first's second


async def test_the_deals_remembered_are_bounded_and_a_forgotten_one_is_read_again() -> None:
    async with fake_and_client(FakeConfig(seed=47)) as (fake, crm):
        contact = fake.add_contact("C")
        deals = [fake.add_deal(f"D{n}", [contact]) for n in range(3)]
        checks = DealContacts(crm, remembered=2)

        answers = [await checks.associated(deal, contact) for deal in [*deals, deals[2], deals[0]]]

        assert answers == [True] * 5
        assert fake.stats.requests["get_record"] == 4  # D2 still remembered; D0 forgotten when D2 came, read again


async def test_roles_beyond_one_page_are_not_taken_for_a_refusal() -> None:
    async with fake_and_client(FakeConfig(seed=48)) as (fake, crm):
        contacts = [fake.add_contact(f"C{n}") for n in range(203)]
        deal = fake.add_deal("Crowded", contacts[:202])  # C0 its Contact_Name, 201 contacts on its roles
        checks = DealContacts(crm)

        assert await checks.associated(deal, contacts[0]) is True
        assert await checks.associated(deal, contacts[202]) is None  # not on the first page: cannot tell
        assert await checks.associated(deal, sorted(contacts[1:202])[0]) is True
        assert fake.stats.requests["get_contact_roles"] == 1
