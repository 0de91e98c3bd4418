"""link, unlink and relink as journaled backfills: a row is one email of one contact (``EMAIL_LAYOUT``).

Rows in flight after a kill are settled by reading the contact's emails back (Get Emails of a Record is the only
answer that shows where an email is linked; each contact's list is read once for all its rows in flight), and
decided by the library's own predicates (``is_linked_as_intended``, ``is_unlinked``): link, linked to the intended
deal -> SUCCESS, to another -> ALREADY_LINKED, to none -> send again; relink, on the intended deal -> SUCCESS,
otherwise send again (relink converges from any state); unlink, on no deal -> SUCCESS, else send again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .._builders import builder
from .._bulk import BulkResult, ItemResult
from .._errors import APIError, AuthenticationError, ZohoError
from .._fanout import first_error
from ..emails import DealLink, DealUnlink, find_problems
from ..emails._read_back import is_linked_as_intended, is_unlinked
from ..models import LinkedRecord
from ..outcomes import ALREADY_LINKED, SUCCESS
from ..validation import MAX_NAME, InvalidItemError, ItemProblem, check_numeric_id, is_message_id, is_numeric_id
from ._journal import JournalItem
from ._layout import EMAIL_LAYOUT, Layout
from ._op import Answered, Remember, Settlement
from ._outcome_table import Outcome

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["LINK", "RELINK", "RESUMED", "UNLINK", "EmailBackfill"]

#: Appended to the message of an item a resumed run settled by reading its email back.
RESUMED = "(read back after an interrupted run)"
#: (code, status, message) of an item its email's current link settles.
Settled = tuple[str, str, str]
_MAIN_CALL = {"link": "emails.link", "relink": "emails.link", "unlink": "emails.unlink"}
#: ``DealLink(...)`` and ``DealUnlink(...)`` of every field in order, at half the cost: one of them a row sent.
_link, _unlink = builder(DealLink), builder(DealUnlink)


@dataclasses.dataclass(frozen=True, slots=True)
class EmailBackfill:
    """link, unlink or relink, journaled; ``deals_module_id`` is sent as ``linked_record.module.id`` (None: looked
    up once with Get Modules before the first link)."""

    kind: Literal["link", "unlink", "relink"]
    deals_module_id: str | None = None

    @property
    def name(self) -> str:
        return self.kind

    @property
    def layout(self) -> Layout:
        return EMAIL_LAYOUT

    @property
    def main_call(self) -> str:
        return _MAIN_CALL[self.kind]

    def item(self, fields: Mapping[str, str], previous_deal_id: str | None = None) -> DealLink | DealUnlink:
        """The library's item for a row (its fields as read; the library checks them); ``previous_deal_id`` is
        the deal a relink run took the email off (relink alone uses it)."""
        get = fields.get
        if self.kind == "unlink":
            return _unlink(get("contact_id", ""), get("message_id", ""), get("owner_id", ""))
        return _link(
            get("contact_id", ""), get("message_id", ""), get("deal_id", ""), get("owner_id", ""),
            get("deal_name") or None, get("owner_name") or None, "Deals",
            # The deal an earlier run took the email off: the library puts it back there if it cannot be linked.
            previous_deal_id if self.kind == "relink" else None,
        )  # fmt: skip

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        if self.kind == "unlink":
            return self._unlink_problems(rows)
        return _link_problems(self, rows)

    def _unlink_problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        found = {problem.index: problem for problem in find_problems([self.item(fields) for fields in rows])}
        for index, fields in enumerate(rows):  # not sent, but a deal_id that is given must be an id
            if index not in found and fields.get("deal_id"):
                try:
                    check_numeric_id(fields["deal_id"], "deal_id")
                except InvalidItemError as exc:
                    found[index] = ItemProblem(index, exc.field, exc.problem)
        return [found[index] for index in sorted(found)]

    async def prepare(self, crm: ZohoCRM) -> None:
        if self.deals_module_id is None and self.kind != "unlink":
            await crm.modules.id_of("Deals")  # once, before anything is sent: a scope missing stops the run here

    async def send(self, crm: ZohoCRM, batch: Sequence[JournalItem], answered: Answered, remember: Remember) -> None:
        lines = {(row.fields["contact_id"], row.fields["message_id"]): row.line for row in batch}
        told: set[int] = set()  # the lines a progress callback has seen

        def progress(results: Sequence[ItemResult[Any]]) -> None:
            pairs = [(lines[(result.item.contact_id, result.item.message_id)], result) for result in results]
            told.update(line for line, _ in pairs)
            answered(pairs)

        async def before_unlink(moving: Sequence[DealLink]) -> None:
            moved = ((lines[(link.contact_id, link.message_id)], link.previous_deal_id) for link in moving)
            remember((line, deal_id) for line, deal_id in moved if deal_id is not None)

        items: list[Any] = [self.item(row.fields, row.note) for row in batch]
        emails = crm.emails
        result: BulkResult[Any]
        if self.kind == "unlink":
            result = await emails.unlink_deal(items, on_progress=progress)
        elif self.kind == "relink":
            result = await emails.relink(
                items, on_progress=progress, deals_module_id=self.deals_module_id, before_unlink=before_unlink
            )
        else:
            # already_linked_ok: an email already on the intended deal is SUCCESS, the same answer a resumed run
            # gets by reading it back; without it a run's outcome would depend on whether it had been killed.
            result = await emails.link_deal(
                items, on_progress=progress, deals_module_id=self.deals_module_id, already_linked_ok=True
            )
        if len(told) < len(lines):
            progress(result.results)  # anything a progress callback did not see

    def settled(self, deal_id: str | None, linked: str | None) -> Settled | None:
        """The row's outcome when its email's current link (``linked``, a deal id or None) settles it, None when
        it must be sent again."""
        record = None if linked is None else LinkedRecord(id=linked)
        if self.kind == "unlink":
            unlink = DealUnlink(contact_id="", message_id="", owner_id="")
            return (SUCCESS, "success", f"not linked {RESUMED}") if is_unlinked(unlink, record) else None
        intended = DealLink(contact_id="", message_id="", deal_id=deal_id or "", owner_id="")
        if is_linked_as_intended(intended, record):
            return (SUCCESS, "success", f"linked to the intended deal {RESUMED}")
        if record is not None and self.kind == "link":
            return (ALREADY_LINKED, "error", f"linked to deal {linked}, not {deal_id} {RESUMED}")
        return None

    async def settle(self, crm: ZohoCRM, batch: Sequence[JournalItem]) -> Settlement:
        found = Settlement()
        slots = anyio.CapacityLimiter(crm.budget.concurrency)
        by_contact: dict[str, list[JournalItem]] = {}
        for row in batch:
            by_contact.setdefault(row.fields["contact_id"], []).append(row)

        async def check(contact_id: str, rows: list[JournalItem]) -> None:
            async with slots:
                try:
                    links = await crm.emails.where_linked(contact_id, [row.fields["message_id"] for row in rows])
                except AuthenticationError:
                    raise
                except APIError as exc:
                    # 429 or 5xx: unknown for now; a refusal: sending again gets Zoho's own answer for each row
                    (found.unknown if exc.status == 429 or exc.status >= 500 else found.resend).extend(
                        row.line for row in rows
                    )
                    return
                except ZohoError:
                    found.unknown.extend(row.line for row in rows)
                    return
            for row in rows:
                if row.fields["message_id"] not in links:
                    found.resend.append(row.line)  # its link could not be read: Zoho's answer to the resend decides
                    continue
                record = links[row.fields["message_id"]]
                decided = self.settled(row.fields.get("deal_id"), record.id if record is not None else None)
                if decided is None:
                    found.resend.append(row.line)
                else:
                    found.outcomes.append(Outcome(row.line, *decided, 1))

        try:
            async with anyio.create_task_group() as tg:
                for contact_id, rows in by_contact.items():
                    tg.start_soon(check, contact_id, rows)
        except BaseExceptionGroup as group:
            raise first_error(group) from None
        return found


LINK = EmailBackfill("link")
UNLINK = EmailBackfill("unlink")
RELINK = EmailBackfill("relink")


def _link_problems(op: EmailBackfill, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
    """``find_problems`` of the rows' links, without building a link for a row whose fields pass every check as
    they are (the usual row: its link is built once, when it is sent). Any other row's link is checked by the
    library itself; then, as ``find_problems`` does, each good row repeating an earlier good row's email is
    refused as that row's repeat."""
    found: dict[int, ItemProblem] = {}
    seen: dict[tuple[str, str], int] = {}
    for index, fields in enumerate(rows):
        if not _is_plain_good_link(fields):
            problems = find_problems([op.item(fields)])
            if problems:
                found[index] = dataclasses.replace(problems[0], index=index)
                continue
        key = (fields.get("contact_id", ""), fields.get("message_id", ""))
        first = seen.setdefault(key, index)
        if first != index:
            repeat = f"repeats item {first} (the same email of the same contact)"
            found[index] = ItemProblem(index, "message_id", repeat, repeats=first)
    return list(found.values())


def _is_plain_good_link(fields: Mapping[str, str]) -> bool:
    """Whether a row's link would pass the library's checks as it is (what ``emails.find_problems`` checks of a
    ``DealLink``: three numeric ids, a message id, a deal name within Zoho's bound), told from its fields."""
    contact, message = fields.get("contact_id", ""), fields.get("message_id", "")
    deal, owner, name = fields.get("deal_id", ""), fields.get("owner_id", ""), fields.get("deal_name") or ""
    return (
        type(contact) is str and type(deal) is str and type(owner) is str and type(message) is str
        and type(name) is str and is_numeric_id(contact) and is_numeric_id(deal) and is_numeric_id(owner)
        and is_message_id(message) and len(name) <= MAX_NAME
    )  # fmt: skip
