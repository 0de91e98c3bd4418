"""What a journaled backfill needs of an op: the columns its rows keep, how to send a batch, how to settle rows
a killed run left in flight. ``_email_ops`` declares link, unlink and relink; a new kind of backfill (records
import: insert, update, upsert from a file) is one more module declaring its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .._bulk import ItemResult
from ..validation import ItemProblem
from ._journal import JournalItem
from ._layout import Layout
from ._outcome_table import Outcome

if TYPE_CHECKING:
    from .._client import ZohoCRM

__all__ = ["Answered", "BackfillOp", "Remember", "Settlement"]

#: Called as the library answers: (journal line, the item's result) for each row of the batch.
Answered = Callable[[Sequence[tuple[int, ItemResult[Any]]]], None]
#: Records (journal line, note) durably before it returns: called before a step a killed run must undo.
Remember = Callable[[Iterable[tuple[int, str]]], None]


@dataclasses.dataclass(slots=True)
class Settlement:
    """What reading back rows a killed run left in flight found: each row is in exactly one list."""

    #: Rows whose state settles them (the write took effect, or the intended state already holds).
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    #: Rows known not to have taken effect: pending again, to be sent.
    resend: list[int] = dataclasses.field(default_factory=list)
    #: Rows that could not be read now (no response, 429, 5xx): they stay in flight for the next run.
    unknown: list[int] = dataclasses.field(default_factory=list)


class BackfillOp(Protocol):
    """One kind of journaled backfill.

    ``name`` binds the journal (a journal resumes only its own op); ``layout`` names the columns of its rows;
    ``main_call`` is the budget operation it spends most (a run stops when not even one more fits).
    """

    @property
    def name(self) -> str: ...

    @property
    def layout(self) -> Layout: ...

    @property
    def main_call(self) -> str: ...

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        """Each bad row's first problem, by its index: such rows are refused before anything is sent."""

    async def prepare(self, crm: ZohoCRM) -> None:
        """Once before the first request (learn an id the requests carry); raise to stop before sending."""

    async def send(self, crm: ZohoCRM, batch: Sequence[JournalItem], answered: Answered, remember: Remember) -> None:
        """Send the batch's rows through the library, calling ``answered`` as results arrive (a row answered
        twice counts once); never raises for Zoho's refusals of items."""

    async def settle(self, crm: ZohoCRM, batch: Sequence[JournalItem]) -> Settlement:
        """Read back rows a killed run left in flight (sent or not) and say which took effect."""
