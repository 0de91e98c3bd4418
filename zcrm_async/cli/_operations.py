"""The three kinds of backfill as the command line offers them: the fields a row needs, the help, what a dry run
shows. What a row becomes and how it is sent and read back is the library's (``zcrm_async.backfill``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .. import DealLink, DealUnlink, ItemProblem, PlannedRequest, backfill
from ..emails import plan_link_deal, plan_unlink_deal

__all__ = ["LINK", "OPERATIONS", "RELINK", "UNLINK", "Operation"]


@dataclasses.dataclass(frozen=True)
class Operation:
    """One kind of backfill: the library's op and what the command line says of it."""

    op: backfill.EmailBackfill
    help: str
    #: The fields a row must have (and a CSV header must name).
    required: tuple[str, ...]
    #: What a dry run adds under its counts, if anything.
    note: str | None = None

    @property
    def name(self) -> str:
        return self.op.name

    def for_run(self, deals_module_id: str | None) -> backfill.EmailBackfill:
        """The library's op for a run (``deals_module_id`` None: the library looks it up)."""
        return dataclasses.replace(self.op, deals_module_id=deals_module_id)

    def item(self, fields: Mapping[str, str], previous_deal_id: str | None = None) -> DealLink | DealUnlink:
        return self.op.item(fields, previous_deal_id)

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        return self.op.problems(rows)

    def settled(self, deal_id: str | None, linked: str | None) -> tuple[str, str, str] | None:
        return self.op.settled(deal_id, linked)

    def plan(self, items: Sequence[Any], deals_module_id: str | None) -> list[PlannedRequest[Any]]:
        """The requests a run sends for ``items`` (valid ones), built by the code that sends them."""
        if self.name == "unlink":
            return list(plan_unlink_deal(items))
        return list(plan_link_deal(items, deals_module_id=deals_module_id))


_LINKED = ("contact_id", "message_id", "deal_id", "owner_id")
LINK = Operation(
    backfill.LINK, "link each email to its deal (CSV/JSONL: contact_id, message_id, deal_id, owner_id, ...)", _LINKED
)
UNLINK = Operation(
    backfill.UNLINK,
    "unlink each email from its deal (contact_id, message_id, owner_id)",
    ("contact_id", "message_id", "owner_id"),
)
RELINK = Operation(
    backfill.RELINK,
    "make each email linked to the given deal, whatever it is linked to now; an email whose contact is not"
    " associated with that deal (its Contact_Name or a contact role) is left where it is and fails NOT_ALLOWED,"
    " final in the journal (once the deal is fixed, run the same command with --retry-failed)",
    _LINKED,
    note="(relink: emails Zoho answers ALREADY_LINKED are read back; where one is to move, its deal's contacts are"
    " read (once a deal), then one unlink and one more link request follow per contact and chunk)",
)
OPERATIONS: Mapping[str, Operation] = {operation.name: operation for operation in (LINK, UNLINK, RELINK)}
