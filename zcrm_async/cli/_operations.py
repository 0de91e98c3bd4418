"""The three kinds of backfill, one object each: which fields a row needs, the library item a row becomes, the
requests a dry run shows, how a batch is sent, and what an email's current link says about an item in flight."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .. import BulkResult, DealLink, DealUnlink, Emails, InvalidItemError, ItemProblem, PlannedRequest
from ..emails import BeforeUnlink, ProgressCallback, find_problems, plan_link_deal, plan_unlink_deal
from ..validation import check_numeric_id

__all__ = ["LINK", "OPERATIONS", "RELINK", "UNLINK", "Operation"]

#: Appended to the message of an item a resumed run settled by reading its email back.
RESUMED = "(read back after an interrupted run)"

#: (code, status, message) of an item its email's current link settles.
Settled = tuple[str, str, str]


@dataclasses.dataclass(frozen=True)
class Operation:
    """One kind of backfill (the base is link's behaviour; unlink and relink differ where they must)."""

    name: str
    help: str
    #: The fields a row must have (and a CSV header must name).
    required: tuple[str, ...]
    #: What a dry run adds under its counts, if anything.
    note: str | None = None

    def item(self, fields: Mapping[str, str], previous_deal_id: str | None = None) -> DealLink | DealUnlink:
        """The library's item for a row (its fields as read; the library checks them); ``previous_deal_id`` is
        the deal a relink run took the email off (relink alone uses it)."""
        return DealLink(
            contact_id=fields.get("contact_id", ""),
            message_id=fields.get("message_id", ""),
            deal_id=fields.get("deal_id", ""),
            owner_id=fields.get("owner_id", ""),
            deal_name=fields.get("deal_name") or None,
            owner_name=fields.get("owner_name") or None,
        )

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        """Each bad row's first problem, by its index, as the library checks the row's item before sending."""
        return find_problems([self.item(fields) for fields in rows])

    def plan(self, items: Sequence[Any], deals_module_id: str | None) -> list[PlannedRequest[Any]]:
        """The requests a run sends for ``items`` (valid ones), built by the code that sends them."""
        planned: list[PlannedRequest[Any]] = list(plan_link_deal(items, deals_module_id=deals_module_id))
        return planned

    async def send(
        self,
        emails: Emails,
        items: Sequence[Any],
        on_progress: ProgressCallback,
        deals_module_id: str | None,
        before_unlink: BeforeUnlink | None = None,
    ) -> BulkResult[Any]:
        # already_linked_ok: an email already on the intended deal is SUCCESS, the same answer a resumed run gets
        # by reading it back; without it a run's outcome would depend on whether it had been killed.
        return await emails.link_deal(
            items, on_progress=on_progress, deals_module_id=deals_module_id, already_linked_ok=True
        )

    def settled(self, deal_id: str | None, linked: str | None) -> Settled | None:
        """The item's outcome when its email's current link (``linked``, a deal id or None) settles it, None when
        it must be sent again."""
        if linked is not None and linked == deal_id:
            return ("SUCCESS", "success", f"linked to the intended deal {RESUMED}")
        if linked is not None:
            return ("ALREADY_LINKED", "error", f"linked to deal {linked}, not {deal_id} {RESUMED}")
        return None


@dataclasses.dataclass(frozen=True)
class Unlink(Operation):
    def item(self, fields: Mapping[str, str], previous_deal_id: str | None = None) -> DealUnlink:
        return DealUnlink(
            contact_id=fields.get("contact_id", ""),
            message_id=fields.get("message_id", ""),
            owner_id=fields.get("owner_id", ""),
        )

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        found = {problem.index: problem for problem in super().problems(rows)}
        for index, fields in enumerate(rows):
            if index not in found and fields.get("deal_id"):  # not sent, but a deal_id that is given must be an id
                try:
                    check_numeric_id(fields["deal_id"], "deal_id")
                except InvalidItemError as exc:
                    found[index] = ItemProblem(index, exc.field, exc.problem)
        return [found[index] for index in sorted(found)]

    def plan(self, items: Sequence[Any], deals_module_id: str | None) -> list[PlannedRequest[Any]]:
        return list(plan_unlink_deal(items))

    async def send(
        self,
        emails: Emails,
        items: Sequence[Any],
        on_progress: ProgressCallback,
        deals_module_id: str | None,
        before_unlink: BeforeUnlink | None = None,
    ) -> BulkResult[Any]:
        return await emails.unlink_deal(items, on_progress=on_progress)

    def settled(self, deal_id: str | None, linked: str | None) -> Settled | None:
        return ("SUCCESS", "success", f"not linked {RESUMED}") if linked is None else None


@dataclasses.dataclass(frozen=True)
class Relink(Operation):
    def item(self, fields: Mapping[str, str], previous_deal_id: str | None = None) -> DealLink:
        # The deal an earlier run took the email off: the library puts it back there if it cannot be linked.
        link = super().item(fields)
        assert isinstance(link, DealLink)
        return dataclasses.replace(link, previous_deal_id=previous_deal_id) if previous_deal_id else link

    async def send(
        self,
        emails: Emails,
        items: Sequence[Any],
        on_progress: ProgressCallback,
        deals_module_id: str | None,
        before_unlink: BeforeUnlink | None = None,
    ) -> BulkResult[Any]:
        return await emails.relink(
            items, on_progress=on_progress, deals_module_id=deals_module_id, before_unlink=before_unlink
        )

    def settled(self, deal_id: str | None, linked: str | None) -> Settled | None:
        # Relink converges from any state: only an email already on the intended deal is settled.
        if linked is not None and linked == deal_id:
            return ("SUCCESS", "success", f"linked to the intended deal {RESUMED}")
        return None


_LINKED = ("contact_id", "message_id", "deal_id", "owner_id")
LINK = Operation(
    "link", "link each email to its deal (CSV/JSONL: contact_id, message_id, deal_id, owner_id, ...)", _LINKED
)
UNLINK = Unlink(
    "unlink",
    "unlink each email from its deal (contact_id, message_id, owner_id)",
    ("contact_id", "message_id", "owner_id"),
)
RELINK = Relink(
    "relink",
    "make each email linked to the given deal, whatever it is linked to now; an email whose contact is not"
    " associated with that deal (its Contact_Name or a contact role) is left where it is and fails NOT_ALLOWED,"
    " final in the journal (once the deal is fixed, run those rows again with --journal NEW)",
    _LINKED,
    note="(relink: emails Zoho answers ALREADY_LINKED are read back; where one is to move, its deal's contacts are"
    " read (once a deal), then one unlink and one more link request follow per contact and chunk)",
)
OPERATIONS: Mapping[str, Operation] = {operation.name: operation for operation in (LINK, UNLINK, RELINK)}
