"""The audit as a library over an open client, against FakeZoho through the real aiohttp transport."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from tests.fakes import fake_and_client
from zcrm_async.audit import Judgement, audit, read_stage_outcomes
from zcrm_async.emails import DealLink
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio


def actions_by_story(fake: FakeZoho, stories: dict[str, str], judged: list[Judgement]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = collections.defaultdict(set)
    for judgement in judged:
        if judgement.email.sent:
            continue
        found[stories[judgement.email.contact_id]].add(judgement.action)
    return dict(found)


async def test_prediction_finds_every_kind_of_wrong_link() -> None:
    async with fake_and_client() as (fake, crm):
        seeded = fake.seed_misfiled(contacts=24, emails_per_contact=4, seed=3)
        async with audit(crm, "prediction") as run:
            judged = [judgement async for judgement in run]
        assert len(judged) == len(seeded.message_ids)
        assert sorted(run.contact_ids) == sorted(seeded.contact_ids)  # every contact has a deal
        by_story = actions_by_story(fake, seeded.stories, judged)
        assert by_story["lost"] == {"move", "unlink"}  # with / without another open deal
        assert by_story["unlinked"] == {"link"}
        assert by_story["moved"] == {"move", "right"}
        assert by_story["right"] == {"right"}
        for judgement in judged:
            assert judgement.email.linked is None or judgement.email.linked.id == fake.link_of(
                judgement.email.message_id
            )
            if judgement.action in ("move", "link"):
                assert judgement.target is not None and judgement.target.is_open
            if judgement.email.sent:
                assert judgement.action == "leave"
        # Reads only: Zoho's state is untouched.
        assert not {"link_emails", "unlink_emails", "link_email", "unlink_email"} & set(fake.stats.requests)


async def test_renamed_stages_are_read_from_the_picklist_forecast_type() -> None:
    async with fake_and_client() as (fake, crm):
        seeded = fake.seed_misfiled(contacts=8, emails_per_contact=2)
        fake.rename_stage("Closed Lost", "Lost - no budget")
        fake.rename_stage("Qualification", "Warm")
        outcomes = await read_stage_outcomes(crm)
        assert outcomes.outcome("Lost - no budget") == "lost"
        assert outcomes.outcome("Closed Lost to Competition") == "lost"
        assert outcomes.outcome("Warm") == "open" and outcomes.outcome("Closed Won") == "won"
        async with audit(crm, "no-closed-lost") as run:
            judged = [judgement async for judgement in run]
        lost = {c for c, story in seeded.stories.items() if story == "lost"}
        acted = [j for j in judged if j.action != "leave"]
        assert {j.email.contact_id for j in acted} == lost
        assert {j.action for j in acted} == {"move", "unlink"}  # the first lost contact has no open deal left
        assert all(j.email.linked is not None and j.email.linked.stage == "Lost - no budget" for j in acted)


async def test_overrides_skip_the_metadata_and_decide_what_closed_means() -> None:
    async with fake_and_client() as (fake, crm):
        fake.seed_misfiled(contacts=4, emails_per_contact=2)
        # Nothing counts as closed-lost: no email is on a closed-lost deal.
        async with audit(crm, "no-closed-lost", closed_won=["Closed Won"], closed_lost=[]) as run:
            actions = {judgement.action async for judgement in run}
        assert actions == {"leave"}
        assert fake.stats.requests["get_fields"] == 0


async def test_given_contacts_only_and_a_rule_by_callable() -> None:
    async with fake_and_client() as (fake, crm):
        seeded = fake.seed_misfiled(contacts=8, emails_per_contact=3)
        chosen = list(seeded.contact_ids[:3])
        calls: list[str] = []

        def unlink_everything(contact: object, email: object) -> None:
            calls.append(getattr(email, "message_id", ""))
            return None

        async with audit(crm, unlink_everything, contact_ids=chosen) as run:
            judged = [judgement async for judgement in run]
        assert {j.email.contact_id for j in judged} == set(chosen)
        assert len(calls) == len(judged) == 3 * 4
        assert fake.stats.requests["get_emails"] == 3


async def test_leaving_early_cancels_the_reads() -> None:
    async with fake_and_client() as (fake, crm):
        fake.seed_misfiled(contacts=40, emails_per_contact=25)
        async with audit(crm, "prediction", concurrency=2, buffer=1) as run:
            async for _ in run:
                break
        assert fake.stats.requests["get_emails"] < 40 * 3


async def test_an_email_linked_elsewhere_names_the_deal_it_is_on() -> None:
    async with fake_and_client() as (fake, crm):
        owner = fake.add_user("Owner")
        ada, bob = fake.add_contact("Ada"), fake.add_contact("Bob")
        ada_deal, bob_deal = fake.add_deal("Ada's", [ada]), fake.add_deal("Bob's", [bob])
        fake.associate(ada, bob_deal)  # a contact role: Bob's deal is not among Ada's deals by Contact_Name
        message_id = fake.add_email(ada, owner, received=False)
        result = await crm.emails.link_deal([DealLink(contact_id=ada, message_id=message_id, deal_id=bob_deal,
                                                      owner_id=owner)])  # fmt: skip
        assert result.ok
        async with audit(crm, "single-open-deal", contact_ids=[ada]) as run:
            (judgement,) = [j async for j in run]
        assert judgement.email.linked is not None and judgement.email.linked.name == "Bob's"
        assert judgement.email.linked.contact_id == bob and judgement.action == "leave"
        assert [deal.id for deal in run.deals.of_contact(ada).deals] == [ada_deal]


async def test_a_mapping_by_thread_reads_only_the_emails_it_must(tmp_path: Path) -> None:
    async with fake_and_client() as (fake, crm):
        seeded = fake.seed_misfiled(contacts=4, emails_per_contact=3)
        moved = next(c for c, story in seeded.stories.items() if story == "moved")
        deals = [d for d in seeded.deal_ids if fake.world.record(d).primary_contact == moved]  # type: ignore[union-attr]
        pilot = deals[1]  # won before, pilot, rollout
        by_message, by_thread, *others = fake.emails_of(moved)
        thread = fake.email(by_thread).thread_id  # type: ignore[union-attr]
        mapping = tmp_path / "truth.csv"
        mapping.write_text(
            f"message_id,thread_id,deal_id,reason\n{by_message},,{pilot},finance says so\n,{thread},,spam\n",
            encoding="utf-8",
        )
        async with audit(crm, str(mapping), contact_ids=[moved]) as run:
            judged = {j.email.message_id: j async for j in run}
        assert judged[by_message].target is not None and judged[by_message].target.id == pilot
        assert judged[by_message].reason == "finance says so"
        assert judged[by_thread].action == "unlink" and judged[by_thread].reason == "spam"
        assert all(judged[m].action == "leave" for m in others)
        # The list shows no thread ids: each email not mapped by message id is read alone, once.
        assert run.thread_reads == fake.stats.requests["get_email"] == len(judged) - 1
