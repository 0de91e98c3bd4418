"""The journal's ``outcomes`` table: each distinct (code, status, message, transient) once, by id.

A finished item points at its outcome with 1-2 bytes instead of ~45 of text. The table is small (Zoho's messages
are few), so questions about outcomes ("which are transient", "which are final failures") are asked of it first
and the items are then found by outcome id, through an index, instead of scanning every item's text.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence

from ..outcomes import TRANSIENT

__all__ = ["INVALID_ROW", "Outcome", "OutcomeTable"]

#: The code of a row refused before sending (bad fields, a duplicate).
INVALID_ROW = "INVALID_ROW"
#: The library's transient codes, in a fixed order for SQL parameters (journals written before the flag).
_TRANSIENT = tuple(sorted(TRANSIENT))
#: Distinct outcomes remembered in memory (beyond it the table is asked): Zoho's messages are few, but a run of
#: refused rows has one each.
_CACHE = 4_096


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """The final result of one item, to be written."""

    line: int
    code: str
    status: str
    message: str
    attempts: int
    #: Failed for a transient cause (no response, 429, 5xx, an answer that could not be read): a rerun tries again.
    transient: bool = False


class OutcomeTable:
    """Ids of outcomes, added when new; ``forget`` after a rollback (the rows it added went with it)."""

    __slots__ = ("_db", "_ids")

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._ids: dict[tuple[str, str, str, int], int] = {}

    def forget(self) -> None:
        self._ids.clear()

    def id_of(self, code: str, status: str, message: str, transient: bool) -> int:
        """The id of this outcome, added if new (inside the caller's transaction)."""
        key = (code, status, message or "", int(transient))
        known = self._ids.get(key)
        if known is not None:
            return known
        self._db.execute("INSERT OR IGNORE INTO outcomes (code, status, message, transient) VALUES (?, ?, ?, ?)", key)
        (found,) = self._db.execute(
            "SELECT id FROM outcomes WHERE code = ? AND status = ? AND message = ? AND transient = ?", key
        ).fetchone()
        if len(self._ids) >= _CACHE:
            self._ids.clear()
        self._ids[key] = found
        return int(found)

    def where(self, condition: str, args: Sequence[object]) -> list[int]:
        """Ids of the recorded outcomes meeting ``condition``."""
        return [row[0] for row in self._db.execute(f"SELECT id FROM outcomes WHERE {condition}", args)]

    def transient(self) -> list[int]:
        """Failures a later run may cure (flagged so, or by a code journals wrote before the flag)."""
        codes = ", ".join("?" * len(_TRANSIENT))
        return self.where(f"status != 'success' AND (transient = 1 OR code IN ({codes}))", _TRANSIENT)

    def final_failures(self) -> list[int]:
        """Failures that are final (a refusal by Zoho), refused rows left out: they would fail the same way."""
        codes = ", ".join("?" * len(_TRANSIENT))
        return self.where(
            f"status != 'success' AND code != ? AND transient = 0 AND code NOT IN ({codes})", (INVALID_ROW, *_TRANSIENT)
        )
