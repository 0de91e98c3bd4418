"""Deterministic bulk data for FakeZoho's world: contacts, their own deals, and a mix of received and sent mail."""

from __future__ import annotations

import random

from ._fake_world import SeedSummary, World


def seed_world(
    world: World,
    *,
    contacts: int,
    deals_per_contact: int,
    emails_per_contact: int,
    users: int,
    seed: int,
    sparse_share: float,
) -> SeedSummary:
    """Each contact gets its own deals and a mix of received and sent mail, plus ``sparse_share`` x the generated
    emails as sparse ones (spread over the contacts)."""
    rng = random.Random(seed)
    user_ids = tuple(world.add_user(f"User {i + 1}") for i in range(max(users, 1)))
    contact_ids: list[str] = []
    deal_ids: list[str] = []
    message_ids: list[str] = []
    sparse_ids: list[str] = []
    owed = 0.0
    for c in range(contacts):
        contact = world.add_record(
            "Contacts",
            f"Contact {c + 1}",
            email=f"contact{c + 1}@example.net",
            external_id=f"extcontact{c + 1}",
        )
        contact_ids.append(contact.id)
        for d in range(deals_per_contact):
            deal_ids.append(
                world.add_deal(f"Deal {c + 1}.{d + 1}", [contact.id], external_id=f"extdeal{c + 1}.{d + 1}")
            )
        owner = user_ids[c % len(user_ids)]
        for e in range(emails_per_contact):
            received = rng.random() < 0.7
            email = world.add_email(
                contact.id,
                owner,
                subject=f"Re: deal {c + 1} #{e + 1}",
                received=received,
                content=f"<p>About deal {c + 1}, message {e + 1}.</p>",
            )
            message_ids.append(email.message_id)
        owed += emails_per_contact * sparse_share
        while owed >= 1.0:
            owed -= 1.0
            sparse = world.add_email(contact.id, owner, received=False, content="")
            sparse.sparse = True
            sparse_ids.append(sparse.message_id)
    linked = sum(1 for m in message_ids if world.link_of(m) is not None)
    return SeedSummary(
        user_ids=user_ids,
        contact_ids=tuple(contact_ids),
        deal_ids=tuple(deal_ids),
        message_ids=tuple(message_ids),
        linked=linked,
        sparse_ids=tuple(sparse_ids),
    )
