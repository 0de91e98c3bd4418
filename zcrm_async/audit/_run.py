"""An audit over an open client: read the stages and deals, then judge every email of the contacts as it arrives.

Memory holds the deals (one small object each) and a bounded buffer of emails, never the emails read so far:
judgements stream out one by one, however many contacts there are. Requests: the Stage metadata (one), the
Deals pages, and each contact's Get Emails pages; nothing more unless a rule needs thread ids the list does not
show (then one single-email read per such email).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from msgspec import UnsetType

from .._errors import APIError, ResponseDecodeError
from .._fanout import Stream
from ..models import EmailSummary
from ._model import Deal, EmailView, Judgement, Rule, Verdict, judge
from ._read import DealIndex, StageOutcomes, read_deals, read_stage_outcomes
from ._rules import MappingRule, load_rule

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["Audit", "audit"]


class Audit:
    """An audit under way: what it read (``outcomes``, ``deals``, ``contact_ids``) and, iterated, one
    ``Judgement`` per email of those contacts, in arrival order (each contact's emails newest first)."""

    __slots__ = ("_crm", "_rule", "_stream", "_threads", "contact_ids", "deals", "outcomes", "thread_reads")

    def __init__(
        self,
        crm: ZohoCRM,
        rule: Rule,
        outcomes: StageOutcomes,
        deals: DealIndex,
        contact_ids: list[str],
        stream: Stream[tuple[str, EmailSummary]],
    ) -> None:
        self._crm = crm
        self._rule = rule
        self._stream = stream
        self._threads = bool(getattr(rule, "needs_thread_ids", False))
        self.outcomes = outcomes
        self.deals = deals
        self.contact_ids = contact_ids
        #: Single-email reads made for thread ids the list did not show.
        self.thread_reads = 0

    def __aiter__(self) -> Audit:
        return self

    async def __anext__(self) -> Judgement:
        contact_id, email = await self._stream.__anext__()
        return await self._judge(contact_id, email)

    async def _judge(self, contact_id: str, email: EmailSummary) -> Judgement:
        linked = email.linked_record
        current: Deal | None = None
        # Zoho's schema lets every field of a linked record be null: one without an id links to nothing.
        if linked is not None and not isinstance(linked, UnsetType) and linked.id:
            name = linked.name if isinstance(linked.name, str) else None
            current = self.deals.get(linked.id) or Deal(id=linked.id, name=name)
        message_id = email.message_id or ""  # null in Zoho's schema: such an email cannot be addressed
        view = EmailView(
            contact_id=contact_id, message_id=message_id, linked=current, subject=email.subject,
            time=email.time, sent=email.sent, owner_id=email.owner.id if email.owner else None,
            owner_name=email.owner.name if email.owner and isinstance(email.owner.name, str) else None,
            thread_id=email.thread_id or (await self._thread_id(contact_id, message_id) if message_id else None),
        )  # fmt: skip
        if isinstance(linked, UnsetType):
            return Judgement(view, Verdict.leave_it("the list does not say where it is linked"), "leave")
        if not message_id:
            return Judgement(view, Verdict.leave_it("Zoho gave no message id: the email cannot be addressed"), "leave")
        return judge(self._rule, self.deals.of_contact(contact_id), view, self.deals.get)

    async def _thread_id(self, contact_id: str, message_id: str) -> str | None:
        """The email's thread id from its single-email answer, only when the rule needs it for this email."""
        if not self._threads:
            return None
        if isinstance(self._rule, MappingRule) and message_id in self._rule.by_message:
            return None  # a message id row decides; the thread would not be looked at
        self.thread_reads += 1
        try:
            full = await self._crm.emails.get("Contacts", contact_id, message_id)
        except (APIError, ResponseDecodeError):
            return None
        return full.thread_id


@asynccontextmanager
async def audit(
    crm: ZohoCRM,
    rule: Rule | str,
    *,
    contact_ids: Iterable[str | int] | None = None,
    closed_won: Collection[str] | None = None,
    closed_lost: Collection[str] | None = None,
    concurrency: int | None = None,
    buffer: int = 100,
    on_refused: Callable[[str, APIError], None] | None = None,
) -> AsyncIterator[Audit]:
    """Judge every email of the contacts by ``rule``; nothing is changed in Zoho::

        async with audit(crm, "no-closed-lost") as run:
            async for judgement in run:
                if judgement.action != "right": ...

    Args:
        rule: a callable ``(ContactDeals, EmailView) -> answer``, a built-in name, a CSV mapping path or
            ``module:function``.
        contact_ids: the contacts to read; by default every contact that is some deal's ``Contact_Name``.
        closed_won, closed_lost: stage names that override the Stage picklist's ``forecast_type``; with both
            given the metadata is not read.
        concurrency: contacts read at once (the budget's concurrency by default; the budget caps it anyway).
        buffer: emails read ahead of the consumer.
        on_refused: called with a contact's id and Zoho's refusal when Zoho refuses to list that contact's emails
            (a deleted contact: INVALID_DATA); the contact is skipped and the audit goes on. Without it the
            refusal ends the audit.

    Raises:
        RuleError: ``rule`` names nothing loadable. ``APIError`` and friends as the reads raise them.
    """
    chosen = load_rule(rule) if isinstance(rule, str) else rule
    outcomes = await read_stage_outcomes(crm, closed_won=closed_won, closed_lost=closed_lost)
    deals = await read_deals(crm, outcomes)
    ids = [str(i) for i in contact_ids] if contact_ids is not None else list(deals.contact_ids())
    workers = concurrency or crm.budget.concurrency
    async with crm.emails.iterate_many(
        "Contacts", ids, concurrency=workers, buffer=buffer, on_refused=on_refused
    ) as stream:
        yield Audit(crm, chosen, outcomes, deals, ids, stream)
