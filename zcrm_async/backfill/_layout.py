"""What a journal keeps of one op's rows: the fields, the key that makes two rows the same work, and the note.

Every backfill op names its ``Layout``: the journal's ``items`` table has one TEXT column per field (what is sent
and reported, so neither a resume nor the report re-reads the input), a hash of the key fields (a row repeating
an earlier row's key is refused, never sent twice) and one optional note column, which the op writes durably
before a step a killed run must be able to undo (relink: the deal an email is taken off, ``previous_deal_id``).
The email ops' layout is the one journals of schema 3 and 4 were written with, column for column.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

__all__ = ["EMAIL_LAYOUT", "Layout", "Row", "Source"]

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: Columns of the journal's own: a field may not take their names.
_RESERVED = frozenset({"line", "state", "outcome", "attempts", "key_hash"})


@dataclasses.dataclass(frozen=True, slots=True)
class Layout:
    """The columns a journal keeps for an op's rows.

    Attributes:
        fields: every field a row may carry, in report order (one TEXT column each; a field a row lacks is NULL).
        key: the fields that make two rows the same piece of work (a repeat is refused); ``()``: none repeat.
        note: the column the op commits before a step a killed run must undo, or None.
    """

    fields: tuple[str, ...]
    key: tuple[str, ...] = ()
    note: str | None = None

    def __post_init__(self) -> None:
        names = [*self.fields, *([self.note] if self.note else [])]
        for name in names:  # the names go into SQL: lower-case identifiers only, none of the journal's own
            if not _IDENTIFIER.fullmatch(name) or name in _RESERVED:
                raise ValueError(f"a journal column must be a lower-case identifier of its own, not {name!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"a journal column is named twice in {names}")
        if not set(self.key) <= set(self.fields):
            raise ValueError(f"the key {self.key} names a field not in {self.fields}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The item columns past the journal's own, in table order: the fields, then the note."""
        return (*self.fields, *([self.note] if self.note else []))


#: link, unlink and relink (and every journal of schema 3 and 4).
EMAIL_LAYOUT = Layout(
    fields=("contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name"),
    key=("contact_id", "message_id"),
    note="previous_deal_id",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    """One input row: its line number, its fields, and why it is refused (None: it is good)."""

    line: int
    fields: dict[str, str]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Source(Protocol):
    """What a journal is bound to: an input's identity, and its rows read on demand (never all at once).

    A resumed run must read the same rows at the same lines: the journal refuses a source whose ``name``,
    ``size`` or ``sha256`` differ from the ones it was made for.
    """

    @property
    def name(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    def rows(self, after_line: int = 0) -> Iterator[Row]: ...


def input_name(path: Path) -> str:
    """A file source's ``name``: its absolute path, as journals have always recorded it."""
    return str(path.resolve())
