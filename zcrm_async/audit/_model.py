"""What a rule sees and says: a contact's deals, one email with its current link, and the verdict on it.

All plain frozen values, no I/O: a rule is a pure function of them, testable without a server.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable
from typing import Final, Literal

__all__ = [
    "LEAVE",
    "Action",
    "ContactDeals",
    "Deal",
    "EmailView",
    "Judgement",
    "Leave",
    "Outcome",
    "Rule",
    "RuleAnswer",
    "Verdict",
]

#: Where a deal's stage puts it, from the Stage picklist's ``forecast_type`` (or an override).
Outcome = Literal["open", "won", "lost", "unknown"]
#: What the audit would do to an email: nothing (``right``, ``leave``), or one backfill action.
Action = Literal["right", "move", "link", "unlink", "leave"]

_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Deal:
    """A deal as the audit read it (Get Records of Deals), its stage already placed as open, won or lost."""

    id: str
    name: str | None = None
    stage: str | None = None
    outcome: Outcome = "unknown"
    #: The deal's ``Contact_Name`` lookup: the contact whose deals it counts among.
    contact_id: str | None = None
    modified_time: datetime.datetime | None = None
    closing_date: datetime.date | None = None
    owner_id: str | None = None
    owner_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"

    @property
    def closed_lost(self) -> bool:
        return self.outcome == "lost"

    @property
    def closed_won(self) -> bool:
        return self.outcome == "won"

    def recency(self) -> tuple[datetime.datetime, int]:
        """Sort key for "most recently modified": Modified_Time, ties (and unknown times) by the newer id."""
        return (self.modified_time or _EPOCH, int(self.id) if self.id.isdigit() else 0)


@dataclasses.dataclass(frozen=True, slots=True)
class ContactDeals:
    """One contact's deals (those whose ``Contact_Name`` is the contact), most recently modified first."""

    contact_id: str
    deals: tuple[Deal, ...] = ()

    @classmethod
    def of(cls, contact_id: str, deals: Iterable[Deal]) -> ContactDeals:
        return cls(contact_id, tuple(sorted(deals, key=Deal.recency, reverse=True)))

    @property
    def open(self) -> tuple[Deal, ...]:
        """The open deals (neither closed-won nor closed-lost), most recently modified first."""
        return tuple(deal for deal in self.deals if deal.is_open)

    @property
    def single_open(self) -> Deal | None:
        """The contact's only open deal, or None when it has none or several."""
        open_deals = self.open
        return open_deals[0] if len(open_deals) == 1 else None

    def get(self, deal_id: str) -> Deal | None:
        return next((deal for deal in self.deals if deal.id == deal_id), None)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EmailView:
    """One of the contact's emails as Get Emails of a Record lists it, with the deal it is linked to now.

    ``linked`` is the deal as the audit knows it (its stage placed) when the deal was read; a deal the audit did
    not read (of no contact, or deleted) keeps its id and name with outcome ``unknown``. None: not linked.
    """

    contact_id: str
    message_id: str
    linked: Deal | None
    subject: str | None = None
    time: str | None = None
    sent: bool | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    thread_id: str | None = None


class Leave:
    """The answer "leave this email as it is": the rule has no opinion about it."""

    _instance: Leave | None = None

    def __new__(cls) -> Leave:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "LEAVE"


LEAVE: Final = Leave()


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's answer with its reason: the email belongs on ``deal`` (None: on no deal), or is left alone."""

    deal: Deal | None
    reason: str = ""
    leave: bool = False

    @classmethod
    def belongs_on(cls, deal: Deal, reason: str = "") -> Verdict:
        return cls(deal, reason)

    @classmethod
    def no_deal(cls, reason: str = "") -> Verdict:
        return cls(None, reason)

    @classmethod
    def leave_it(cls, reason: str = "") -> Verdict:
        return cls(None, reason, leave=True)


#: What a rule may return: a Verdict, a Deal or deal id (it belongs there), None (on no deal), or LEAVE.
RuleAnswer = Verdict | Deal | str | None | Leave
Rule = Callable[[ContactDeals, EmailView], RuleAnswer]


@dataclasses.dataclass(frozen=True, slots=True)
class Judgement:
    """One email judged: what the rule said, and the action that follows from its current link."""

    email: EmailView
    verdict: Verdict
    action: Action

    @property
    def reason(self) -> str:
        return self.verdict.reason

    @property
    def target(self) -> Deal | None:
        """Where the email should end (None: on no deal, or left alone)."""
        return None if self.verdict.leave else self.verdict.deal


def judge(rule: Rule, contact: ContactDeals, email: EmailView, deals: Callable[[str], Deal | None]) -> Judgement:
    """Apply ``rule`` and turn its answer into an action. ``deals`` finds a deal by id (for answers by id)."""
    verdict = as_verdict(rule(contact, email), contact, deals)
    action = action_for(email, verdict)
    if action not in ("right", "leave") and not email.owner_id:
        # Link and unlink act as the email's owner; without one nothing can be planned for it.
        verdict = Verdict.leave_it(f"{verdict.reason}; but the list shows no owner to act as".lstrip("; "))
        action = "leave"
    return Judgement(email, verdict, action)


def as_verdict(answer: RuleAnswer, contact: ContactDeals, deals: Callable[[str], Deal | None]) -> Verdict:
    """Any answer a rule may give, as a Verdict (a bare deal id names a deal the audit read, or just an id)."""
    if isinstance(answer, Verdict):
        return answer
    if isinstance(answer, Leave):
        return Verdict.leave_it("the rule leaves it")
    if answer is None:
        return Verdict.no_deal("the rule puts it on no deal")
    if isinstance(answer, Deal):
        return Verdict.belongs_on(answer, "the rule's deal")
    if isinstance(answer, str):
        deal = contact.get(answer) or deals(answer) or Deal(id=answer)
        return Verdict.belongs_on(deal, "the rule's deal")
    raise TypeError(f"a rule returned {type(answer).__name__}; expected Verdict, Deal, a deal id, None or LEAVE")


def action_for(email: EmailView, verdict: Verdict) -> Action:
    """Compare the verdict with where the email is linked now."""
    if verdict.leave:
        return "leave"
    current = email.linked.id if email.linked is not None else None
    wanted = verdict.deal.id if verdict.deal is not None else None
    if current == wanted:
        return "right"
    if wanted is None:
        return "unlink"
    return "link" if current is None else "move"
