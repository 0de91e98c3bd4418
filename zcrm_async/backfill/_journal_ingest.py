"""Recording a backfill's input in its journal: every row in batches of ``INGEST_BATCH``, one transaction each,
and once the input is read, every repeat of an earlier row's key refused before anything can be sent.

``rows_read`` in ``meta`` moves with each batch, so a run killed while reading continues after the last recorded
line. A refused row (bad fields, a repeat) is recorded done with its reason: it is never sent.

A row's insert names only the columns it has a value for (the rest are NULL by default): Python's ``sqlite3`` binds
a ``None`` through its adapter lookup, about as dear as the rest of the insert's parameters together, and a row of
the email layout has three or four (its outcome, and the optional fields an input has no column for).
"""

from __future__ import annotations

import hashlib
import operator
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ._journal_file import DONE_CODE, PENDING_CODE, Transaction
from ._layout import Layout, Row
from ._outcome_table import INVALID_ROW, OutcomeTable

__all__ = ["INGEST_BATCH", "Ingest"]

#: Rows recorded per transaction while reading the input.
INGEST_BATCH = 5_000
#: Distinct sets of keys remembered with the columns they name (an input file's rows all have the same).
_PICKERS = 64


def _repeat(line: int, earlier: int, same: str) -> str:
    return f"line {line}: duplicates line {earlier} (same {same})"


#: What an insert records of a row besides its fields: pending with its key's hash, pending (a layout without a
#: key), or refused with its outcome.
_KEYED, _UNKEYED, _REFUSED = "keyed", "unkeyed", "refused"
_OWN = {
    _KEYED: ("line, state, attempts, key_hash", f"?, {PENDING_CODE}, 0, ?"),
    _UNKEYED: ("line, state, attempts", f"?, {PENDING_CODE}, 0"),
    _REFUSED: ("line, state, outcome, attempts", f"?, {DONE_CODE}, ?, 0"),
}
#: The values of the named fields of a row, as a tuple.
Picker = Callable[[Mapping[str, str]], tuple[Any, ...]]


def _insert(kind: str, columns: Sequence[str]) -> str:
    own, values = _OWN[kind]
    return f"INSERT INTO items ({own}{''.join(f', {c}' for c in columns)}) VALUES ({values}{', ?' * len(columns)})"


def _picker(columns: Sequence[str]) -> Picker:
    if len(columns) >= 2:
        return operator.itemgetter(*columns)
    if columns:
        (name,) = columns
        return lambda fields: (fields[name],)
    return lambda fields: ()


def _key_hash(*key: str) -> int:
    digest = hashlib.blake2b("\0".join(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Ingest:
    """Records one input's rows in a journal's ``items`` table (``Journal.bind`` runs it)."""

    __slots__ = ("_db", "_layout", "_outcomes", "_pickers", "_transaction")

    def __init__(
        self, db: sqlite3.Connection, layout: Layout, outcomes: OutcomeTable, transaction: Callable[[], Transaction]
    ) -> None:
        self._db = db
        self._layout = layout
        self._outcomes = outcomes
        self._transaction = transaction
        #: The keys a row's fields come with -> the layout's fields among them, and what picks their values.
        self._pickers: dict[tuple[str, ...], tuple[tuple[str, ...], Picker]] = {}

    def record(self, rows: Iterator[Row]) -> None:
        """Every row, a batch a transaction; with the last batch, the repeats refused and the input marked read."""
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= INGEST_BATCH:
                self._record_batch(batch, complete=False)
                batch = []
        self._record_batch(batch, complete=True)

    def _record_batch(self, rows: Sequence[Row], *, complete: bool) -> None:
        """One transaction: the rows, and how far the input was read; with the last batch, every repeat of an
        earlier row's key refused (``_refuse_repeats``) before the input counts as read."""
        key = self._layout.key
        with self._transaction():  # the refused rows' outcomes too: a rollback takes them with it
            # By (what is recorded, the fields given): one insert each, naming only those (inputs rarely vary).
            groups: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
            for row in rows:
                fields = row.fields
                columns, pick = self._pickers.get(tuple(fields)) or self._picker_of(fields)
                if row.error is not None:
                    refused = self._outcomes.id_of(INVALID_ROW, "error", row.error, False)
                    groups.setdefault((_REFUSED, columns), []).append((row.line, refused, *pick(fields)))
                elif key:
                    hashed = _key_hash(*(fields.get(name, "") for name in key))
                    groups.setdefault((_KEYED, columns), []).append((row.line, hashed, *pick(fields)))
                else:
                    groups.setdefault((_UNKEYED, columns), []).append((row.line, *pick(fields)))
            for (kind, columns), records in groups.items():
                self._db.executemany(_insert(kind, columns), records)
            if rows:
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'rows_read'", (str(rows[-1].line),))
            if complete:
                self._refuse_repeats()
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('input_complete', '1')")

    def _picker_of(self, fields: Mapping[str, str]) -> tuple[tuple[str, ...], Picker]:
        """The layout's fields among ``fields``' keys (in the layout's order), and what picks their values."""
        columns = tuple(name for name in self._layout.fields if name in fields)
        if len(self._pickers) >= _PICKERS:  # rows whose keys keep changing (of a service's own dicts): start over
            self._pickers.clear()
        found = self._pickers[tuple(fields)] = (columns, _picker(columns))
        return found

    def _refuse_repeats(self) -> None:
        """Every row whose key an earlier line has, refused as its repeat (inside the last batch's transaction:
        the input is not read, and nothing is sent, until it has run).

        Once over the whole input rather than a lookup per batch: the rows go in without a second index kept in
        hash order (a random write a row, the largest cost of reading the input), and one sort finds the hashes
        that repeat; only those rows are read, and their key values compared (two keys may share a hash)."""
        if not self._layout.key:
            return
        columns = ", ".join(self._layout.key)
        cursor = self._db.execute(
            f"SELECT line, key_hash, {columns} FROM items WHERE key_hash IN (SELECT key_hash FROM items"
            " WHERE key_hash IS NOT NULL GROUP BY key_hash HAVING COUNT(*) > 1) ORDER BY line"
        )
        first: dict[tuple[Any, ...], int] = {}
        repeats: list[tuple[int, int]] = []
        for line, hashed, *key in cursor.fetchall():
            earliest = first.setdefault((hashed, *key), line)
            if earliest != line:
                repeats.append((line, earliest))
        same = " and ".join(self._layout.key)
        refused = [
            (DONE_CODE, self._outcomes.id_of(INVALID_ROW, "error", _repeat(line, earlier, same), False), line)
            for line, earlier in repeats
        ]
        self._db.executemany("UPDATE items SET state = ?, outcome = ?, key_hash = NULL WHERE line = ?", refused)
