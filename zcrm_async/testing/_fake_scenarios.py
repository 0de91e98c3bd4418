"""A seeded org with the email-to-deal links a business would call wrong, made the way they happen in Zoho.

Every received email goes through the world's Deal Prediction when it arrives; the wrong links come from what
happens afterwards, one story per contact in turn:

- ``lost``: mail arrived while the contact's only deal was open; then a new deal opened and the old one was
  closed-lost (every few contacts, no new deal: the mail sits on a closed-lost deal with nothing open).
- ``unlinked``: mail arrived before the contact had any deal; then one deal opened. The mail is not linked.
- ``moved``: two open deals; prediction linked the mail to the newer one, and someone moved part of it by hand
  to the older one (a closed-won deal sits beside them).
- ``right``: one open deal; prediction linked the mail where it belongs.

Each contact also has sent mail (never predicted, so unlinked).
"""

from __future__ import annotations

import dataclasses
import random

from ._fake_stages import CLOSED_LOST
from ._fake_world import World

__all__ = ["STORIES", "MisfiledSummary", "seed_misfiled"]

STORIES = ("lost", "unlinked", "moved", "right")


@dataclasses.dataclass(frozen=True, kw_only=True)
class MisfiledSummary:
    """What ``seed_misfiled`` created: the ids, and each contact's story."""

    owner_id: str
    contact_ids: tuple[str, ...]
    deal_ids: tuple[str, ...]
    message_ids: tuple[str, ...]
    stories: dict[str, str]  #: contact id -> story


def seed_misfiled(world: World, *, contacts: int, emails_per_contact: int = 4, seed: int = 0) -> MisfiledSummary:
    """Seed ``contacts`` contacts, the stories in turn, ``emails_per_contact`` received emails each plus one sent."""
    rng = random.Random(seed)
    owner = world.add_user("Audit Owner")
    contact_ids: list[str] = []
    deal_ids: list[str] = []
    message_ids: list[str] = []
    stories: dict[str, str] = {}
    for c in range(contacts):
        story = STORIES[c % len(STORIES)]
        contact = world.add_record("Contacts", f"Contact {c + 1}", email=f"contact{c + 1}@example.net").id
        contact_ids.append(contact)
        stories[contact] = story
        teller = _Story(world, owner, contact, f"{c + 1}", deal_ids, message_ids)
        if story == "lost":
            teller.lost(emails_per_contact, another_open=c % (3 * len(STORIES)) != 0)
        elif story == "unlinked":
            teller.unlinked(emails_per_contact)
        elif story == "moved":
            teller.moved(emails_per_contact, rng)
        else:
            teller.right(emails_per_contact)
        message_ids.append(world.add_email(contact, owner, subject=f"Sent to {c + 1}", received=False).message_id)
    return MisfiledSummary(
        owner_id=owner, contact_ids=tuple(contact_ids), deal_ids=tuple(deal_ids),
        message_ids=tuple(message_ids), stories=stories,
    )  # fmt: skip


@dataclasses.dataclass
class _Story:
    world: World
    owner: str
    contact: str
    label: str
    deal_ids: list[str]
    message_ids: list[str]

    def deal(self, name: str, *, closed_won: bool = False) -> str:
        deal_id = self.world.add_deal(f"{name} {self.label}", [self.contact], closed_won=closed_won)
        self.deal_ids.append(deal_id)
        return deal_id

    def mail(self, count: int) -> list[str]:
        made = [
            self.world.add_email(self.contact, self.owner, subject=f"Re: {self.label} #{i + 1}").message_id
            for i in range(count)
        ]
        self.message_ids.extend(made)
        return made

    def lost(self, count: int, *, another_open: bool) -> None:
        first = self.deal("Renewal")
        self.mail(count)
        if another_open:
            self.deal("Upsell")
        self.world.set_stage(first, self.world.stages.first(CLOSED_LOST))

    def unlinked(self, count: int) -> None:
        self.mail(count)
        self.deal("First order")

    def moved(self, count: int, rng: random.Random) -> None:
        self.deal("Won before", closed_won=True)
        older = self.deal("Pilot")
        self.deal("Rollout")
        for message_id in self.mail(count):
            if rng.random() < 0.5:
                self.world.link_directly(message_id, older)

    def right(self, count: int) -> None:
        self.deal("Subscription")
        self.mail(count)
