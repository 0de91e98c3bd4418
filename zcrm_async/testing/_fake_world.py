"""The in-memory CRM world behind FakeZoho: users, records, emails, deal links.

This module knows Zoho's *domain* rules and nothing about HTTP:

- Ids are 19-digit numeric strings like Zoho's ("5843104000000425349"); message ids are lowercase hex, 64 or
  96 characters (both lengths appear in Zoho's samples), derived from the seed so runs are reproducible.
- Deal Prediction Mechanism (Kaizen #229), applied to every *received* email added to a contact: a deal is
  "open" when it is neither closed-won nor closed-lost. One open deal -> link it; several open deals -> link
  the most recently modified one; none -> no link. (Kaizen says "most recently modified, provided it is not
  closed-lost"; closed-lost deals are never open, and we read closed-won deals as not open either.)
  "Modified" is a world-wide sequence bumped by `add_deal` and `touch_deal` (associating a contact does not
  count as modifying the deal).
- An email lives under at most one parent record (a Contact, Lead or Account) and is linked to at most one
  deal ("An email can only be linked to a single deal at a time"). A Deal's emails are the emails linked to
  it.
- Linking needs the deal to be associated with the email's contact (else NOT_ALLOWED); any existing link, to
  any deal, gives ALREADY_LINKED; the owner id must be a known user (else INVALID_DATA: Zoho's docs are
  silent, we choose strictness so clients send real owners).
- Email times are epoch seconds, rendered as ISO-8601 in UTC ("+00:00"); Zoho renders them in the user's
  zone.
- Seeded emails have a body (``content``), as real ones do. ``seed_world(sparse_share=...)`` adds, for that
  share of the generated emails, "sparse" ones: sent emails whose every field Zoho's schema marks nullable is
  answered null (their message id included, so a client cannot address them; they are never linked).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime
import hashlib
import types
from collections.abc import Iterable, Mapping

from ._fake_record_fields import RecordIndex
from ._fake_stages import CLOSED_LOST, CLOSED_WON, StagePicklist

#: Modules whose records carry emails (Get Emails of a Record, Associate Email).
EMAIL_MODULES = ("Contacts", "Deals", "Leads", "Accounts")
#: Seeded mail starts here (2024-01-01T00:00:00Z) and advances a minute per email, so later is newer.
_MAIL_EPOCH = 1_704_067_200.0
_ID_BASE = 5_843_104_000_000_400_000


class User:
    """A CRM user, the owner of mailboxes."""

    __slots__ = ("email", "id", "name")

    def __init__(self, user_id: str, name: str, email: str) -> None:
        self.id = user_id
        self.name = name
        self.email = email


class Record:
    """A record of any module; deal-only attributes stay at their defaults elsewhere."""

    __slots__ = (
        "closed_lost",
        "closed_won",
        "contact_ids",
        "email",
        "external_id",
        "fields",
        "id",
        "modified",
        "module",
        "name",
        "owner_id",
        "primary_contact",
        "stage",
    )

    def __init__(self, module: str, record_id: str, name: str, email: str | None, external_id: str | None) -> None:
        self.module = module
        self.id = record_id
        self.name = name
        self.email = email
        self.external_id = external_id
        self.stage = ""
        self.closed_won = False
        self.closed_lost = False
        #: Modification sequence number: bigger is more recent (Deal Prediction orders by it).
        self.modified = 0
        #: For a deal, the contacts associated with it (linking needs the email's contact to be one of them).
        self.contact_ids: set[str] = set()
        #: A deal's Contact_Name: the first contact associated with it (the others are its contact roles).
        self.primary_contact: str | None = None
        #: A deal's owner (None: the org's first user).
        self.owner_id: str | None = None
        #: Fields a write set that the attributes above do not model (custom fields, First_Name, ...).
        self.fields: dict[str, object] = {}

    @property
    def is_open(self) -> bool:
        return not (self.closed_won or self.closed_lost)


class Email:
    """One email in a record's Emails related list."""

    __slots__ = (
        "cc",
        "content",
        "from_",
        "message_id",
        "original_message_id",
        "owner_id",
        "record_id",
        "sent",
        "seq",
        "source",
        "sparse",
        "subject",
        "thread_id",
        "time",
        "time_iso",
        "to",
        "wire",
    )

    def __init__(self, message_id: str, record_id: str | None, owner_id: str, time: float, seq: int) -> None:
        self.message_id = message_id
        #: The Contact/Lead/Account the email lives under (None: only reachable through its deal link).
        self.record_id = record_id
        self.owner_id = owner_id
        self.time = time
        self.time_iso = iso(time)
        self.seq = seq
        self.subject = ""
        self.content = ""
        self.sent = False
        self.source = "individual"
        self.from_: dict[str, str | None] = {}
        self.to: list[dict[str, str | None]] = []
        self.cc: list[dict[str, str | None]] | None = None
        self.thread_id = ""
        self.original_message_id: str | None = None
        #: Answered with every nullable field null (see the module docstring).
        self.sparse = False
        #: The encoded Get Emails list item, cached by the HTTP layer; reset whenever the link changes.
        self.wire: bytes | None = None

    def sort_key(self) -> tuple[float, int]:
        """Newest first: Get Emails lists by time descending, ties by arrival."""
        return (-self.time, -self.seq)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeedSummary:
    """What `World.seed_world` created, in creation order."""

    user_ids: tuple[str, ...]
    contact_ids: tuple[str, ...]
    deal_ids: tuple[str, ...]
    message_ids: tuple[str, ...]
    linked: int  #: how many of the seeded emails Deal Prediction linked
    #: Internal ids of the sparse emails (answered with a null message_id), not among ``message_ids``.
    sparse_ids: tuple[str, ...] = ()


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="seconds")


class World:
    """All CRM state of one fake org, with O(1) or O(log n) access paths for every request."""

    __slots__ = (
        "_deal_emails",
        "_deals_by_contact",
        "_email_seq",
        "_emails",
        "_emails_by_record",
        "_external",
        "_links",
        "_modified_seq",
        "_next_id",
        "_originals",
        "_records",
        "_records_by_module",
        "_seed",
        "_users",
        "index",
        "stages",
    )

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._next_id = _ID_BASE
        self._users: dict[str, User] = {}
        self._records: dict[str, Record] = {}
        #: Insertion order is id order, so Get Records' default "id desc" is this list reversed.
        self._records_by_module: dict[str, list[Record]] = {m: [] for m in EMAIL_MODULES}
        self._external: dict[tuple[str, str], Record] = {}
        self._emails: dict[str, Email] = {}
        self._emails_by_record: dict[str, list[Email]] = {}
        self._links: dict[str, str] = {}
        #: deal id -> its linked message ids (a dict as an ordered set).
        self._deal_emails: dict[str, dict[str, None]] = {}
        self._deals_by_contact: dict[str, list[str]] = {}
        #: (record id, original_message_id) pairs already associated: Associate Email's DUPLICATE_DATA.
        self._originals: set[tuple[str, str]] = set()
        self._email_seq = 0
        self._modified_seq = 0
        #: The Deals Stage picklist: a stage's forecast type says whether a deal is open, won or lost.
        self.stages = StagePicklist()
        #: Records by their duplicate-check fields' values (what the write endpoints look up).
        self.index = RecordIndex()

    # -- ids ------------------------------------------------------------------------------------------

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _new_message_id(self) -> str:
        raw = f"{self._seed}:{self._email_seq}".encode()
        # Both lengths occur in Zoho's samples; alternate so clients cannot assume one.
        if self._email_seq % 2:
            return hashlib.sha384(raw).hexdigest()
        return hashlib.sha256(raw).hexdigest()

    def _bump(self) -> int:
        self._modified_seq += 1
        return self._modified_seq

    # -- seeding --------------------------------------------------------------------------------------

    def add_user(self, name: str, email: str | None = None) -> str:
        user_id = self.new_id()
        self._users[user_id] = User(user_id, name, email or f"{name.lower().replace(' ', '.')}@example.com")
        return user_id

    def add_record(self, module: str, name: str, *, email: str | None = None, external_id: str | None = None) -> Record:
        record = Record(module, self.new_id(), name, email, external_id)
        self._records[record.id] = record
        self._records_by_module.setdefault(module, []).append(record)
        if external_id is not None:
            self._external[(module, external_id)] = record
        self.index.add(record)
        return record

    def set_external_id(self, record: Record, external_id: str | None) -> None:
        """Change a record's external id (a write did), keeping the by-external lookup right."""
        self._external.pop((record.module, record.external_id or ""), None)
        record.external_id = external_id
        if external_id is not None:
            self._external[(record.module, external_id)] = record

    def remove_record(self, record: Record) -> None:
        """Delete a record (Delete Records); emails and links that name it are left as they are."""
        self.index.remove(record)
        self.set_external_id(record, None)
        del self._records[record.id]
        self._records_by_module[record.module].remove(record)

    def add_deal(
        self,
        name: str,
        contact_ids: Iterable[str] = (),
        *,
        stage: str = "Qualification",
        closed_won: bool = False,
        closed_lost: bool = False,
        external_id: str | None = None,
    ) -> str:
        deal = self.add_record("Deals", name, external_id=external_id)
        if closed_won or closed_lost:
            stage = self.stages.first(CLOSED_WON if closed_won else CLOSED_LOST)
        self._place(deal, stage)
        deal.modified = self._bump()
        for contact_id in contact_ids:
            self.associate(contact_id, deal.id)
        return deal.id

    def associate(self, contact_id: str, deal_id: str) -> None:
        """Relate a contact and a deal (what the external-id related-list update does)."""
        contact, deal = self.record(contact_id, "Contacts"), self.record(deal_id, "Deals")
        if contact is None or deal is None:
            raise KeyError(f"no such contact {contact_id!r} or deal {deal_id!r}")
        if contact_id not in deal.contact_ids:
            deal.contact_ids.add(contact_id)
            deal.primary_contact = deal.primary_contact or contact_id
            self._deals_by_contact.setdefault(contact_id, []).append(deal_id)

    def _place(self, deal: Record, stage: str) -> None:
        forecast = self.stages.forecast_type(stage)
        deal.stage, deal.closed_won, deal.closed_lost = stage, forecast == CLOSED_WON, forecast == CLOSED_LOST

    def set_stage(self, deal_id: str, stage: str) -> None:
        """Move a deal to a stage (closing it if the stage's forecast type is closed); it counts as modified."""
        deal = self.record(deal_id, "Deals")
        if deal is None:
            raise KeyError(deal_id)
        self._place(deal, stage)
        deal.modified = self._bump()

    def rename_stage(self, old: str, new: str) -> None:
        """Rename a Stage picklist value and every deal in it (what an org admin does); no deal is modified."""
        self.stages.rename(old, new)
        for deal in self._records_by_module["Deals"]:
            if deal.stage == old:
                deal.stage = new

    def touch_deal(self, deal_id: str) -> None:
        """Mark a deal as the most recently modified (steers Deal Prediction)."""
        deal = self.record(deal_id, "Deals")
        if deal is None:
            raise KeyError(deal_id)
        deal.modified = self._bump()

    def add_email(
        self,
        record_id: str | None,
        owner_id: str,
        *,
        subject: str = "",
        received: bool = True,
        message_id: str | None = None,
        time: float | None = None,
        content: str = "",
        source: str = "individual",
    ) -> Email:
        """Store an email under a record; received mail to a contact goes through Deal Prediction."""
        self._email_seq += 1
        when = time if time is not None else _MAIL_EPOCH + 60.0 * self._email_seq
        email = Email(message_id or self._new_message_id(), record_id, owner_id, when, self._email_seq)
        email.subject, email.content, email.sent, email.source = subject, content, not received, source
        email.thread_id = str(_ID_BASE + 900_000_000 + self._email_seq)
        self._fill_addresses(email)
        self._emails[email.message_id] = email
        if record_id is not None:
            bisect.insort(self._emails_by_record.setdefault(record_id, []), email, key=Email.sort_key)
        if received and record_id is not None and record_id in self._deals_by_contact:
            deal_id = self.predict_deal(record_id)
            if deal_id is not None:
                self._link(email.message_id, deal_id)
        return email

    def _fill_addresses(self, email: Email) -> None:
        owner = self._users.get(email.owner_id)
        record = self._records.get(email.record_id or "")
        me = {"user_name": owner.name if owner else None, "email": owner.email if owner else None}
        them = {"user_name": record.name if record else None, "email": record.email if record else None}
        email.from_, email.to = (me, [them]) if email.sent else (them, [me])

    def predict_deal(self, contact_id: str) -> str | None:
        """Kaizen #229's Deal Prediction: the only open deal, else the most recently modified open deal."""
        open_deals = [
            d for d in map(self._records.__getitem__, self._deals_by_contact.get(contact_id, ())) if d.is_open
        ]
        if not open_deals:
            return None
        return max(open_deals, key=lambda d: d.modified).id

    # -- queries --------------------------------------------------------------------------------------

    def user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def current_user(self) -> User:
        """The user the access token belongs to: the first user, created on demand."""
        if not self._users:
            self.add_user("Fake Admin")
        return next(iter(self._users.values()))

    def record(self, record_id: str, module: str | None = None) -> Record | None:
        record = self._records.get(record_id)
        if record is None or (module is not None and record.module != module):
            return None
        return record

    def by_external(self, module: str, external_id: str) -> Record | None:
        return self._external.get((module, external_id))

    def records_of(self, module: str) -> list[Record]:
        return self._records_by_module.get(module, [])

    def email(self, message_id: str) -> Email | None:
        return self._emails.get(message_id)

    def emails_of(self, record: Record) -> list[Email]:
        """A record's Emails related list, newest first (a Deal's: the emails linked to it)."""
        if record.module == "Deals":
            linked = [self._emails[m] for m in self._deal_emails.get(record.id, ())]
            linked.sort(key=Email.sort_key)
            return linked
        return self._emails_by_record.get(record.id, [])

    def link_of(self, message_id: str) -> str | None:
        return self._links.get(message_id)

    @property
    def links(self) -> Mapping[str, str]:
        return types.MappingProxyType(self._links)

    # -- link rules -----------------------------------------------------------------------------------

    def link_code(self, contact_id: str, message_id: str, deal_id: str, owner_id: str) -> tuple[str, str]:
        """Apply one Link Deal to Emails item; returns Zoho's per-item code and the input key at fault."""
        email, deal = self._emails.get(message_id), self.record(deal_id, "Deals")
        if email is None or email.record_id != contact_id:
            return "INVALID_DATA", "message_id"
        if deal is None:
            return "INVALID_DATA", "linked_record"
        if owner_id not in self._users:
            return "INVALID_DATA", "owner"
        if message_id in self._links:
            return "ALREADY_LINKED", "message_id"
        if contact_id not in deal.contact_ids:
            return "NOT_ALLOWED", "linked_record"
        self._link(message_id, deal_id)
        return "SUCCESS", ""

    def unlink_code(self, contact_id: str, message_id: str) -> str:
        """Apply one Unlink item: unknown, foreign or not-linked emails are INVALID_DATA."""
        email = self._emails.get(message_id)
        if email is None or email.record_id != contact_id or message_id not in self._links:
            return "INVALID_DATA"
        deal_id = self._links.pop(message_id)
        self._deal_emails[deal_id].pop(message_id, None)
        email.wire = None
        return "SUCCESS"

    def _link(self, message_id: str, deal_id: str) -> None:
        self._emails[message_id].wire = None
        self._links[message_id] = deal_id
        self._deal_emails.setdefault(deal_id, {})[message_id] = None

    def link_directly(self, message_id: str, deal_id: str) -> None:
        """Link without the contact rule (Associate Email's linked_record, or tests arranging a state)."""
        old = self._links.pop(message_id, None)
        if old is not None:
            self._deal_emails[old].pop(message_id, None)
        self._link(message_id, deal_id)

    def claim_original(self, record_id: str, original_message_id: str) -> bool:
        """Remember an associated original_message_id; False if that record already has it."""
        key = (record_id, original_message_id)
        if key in self._originals:
            return False
        self._originals.add(key)
        return True

    # -- bulk seeding ---------------------------------------------------------------------------------

    def seed_world(
        self,
        *,
        contacts: int,
        deals_per_contact: int = 1,
        emails_per_contact: int = 3,
        users: int = 1,
        seed: int | None = None,
        sparse_share: float = 0.0,
    ) -> SeedSummary:
        """Deterministic bulk data (``_fake_seed``): contacts with their own deals and a mix of mail."""
        from ._fake_seed import seed_world  # here: seeding builds on this module

        return seed_world(
            self, contacts=contacts, deals_per_contact=deals_per_contact, emails_per_contact=emails_per_contact,
            users=users, seed=seed if seed is not None else self._seed, sparse_share=sparse_share,
        )  # fmt: skip
