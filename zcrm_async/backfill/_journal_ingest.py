"""Recording a backfill's input in its journal: every row in batches of ``INGEST_BATCH``, one transaction each,
and once the input is read, every repeat of an earlier row's key refused before anything can be sent.

``rows_read`` in ``meta`` moves with each batch, so a run killed while reading continues after the last recorded
line. A refused row (bad fields, a repeat) is recorded done with its reason: it is never sent.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._journal_file import DONE_CODE, PENDING_CODE, Transaction
from ._layout import Layout, Row
from ._outcome_table import INVALID_ROW, OutcomeTable

__all__ = ["INGEST_BATCH", "Ingest"]

#: Rows recorded per transaction while reading the input.
INGEST_BATCH = 5_000


def _repeat(line: int, earlier: int, same: str) -> str:
    return f"line {line}: duplicates line {earlier} (same {same})"


def _key_hash(*key: str) -> int:
    digest = hashlib.blake2b("\0".join(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Ingest:
    """Records one input's rows in a journal's ``items`` table (``Journal.bind`` runs it)."""

    __slots__ = ("_db", "_insert", "_layout", "_outcomes", "_transaction")

    def __init__(
        self, db: sqlite3.Connection, layout: Layout, outcomes: OutcomeTable, transaction: Callable[[], Transaction]
    ) -> None:
        self._db = db
        self._layout = layout
        self._outcomes = outcomes
        self._transaction = transaction
        self._insert = (
            f"INSERT INTO items (line, state, outcome, attempts, key_hash, {', '.join(layout.fields)})"
            f" VALUES (?, ?, ?, 0, ?, {', '.join('?' * len(layout.fields))})"
        )

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
        fields, key = self._layout.fields, self._layout.key
        with self._transaction():  # the refused rows' outcomes too: a rollback takes them with it
            records = []
            for row in rows:
                values = row.fields.get
                if row.error is None:
                    hashed = _key_hash(*(values(name, "") for name in key)) if key else None
                    records.append((row.line, PENDING_CODE, None, hashed, *map(values, fields)))
                else:
                    refused = self._outcomes.id_of(INVALID_ROW, "error", row.error, False)
                    records.append((row.line, DONE_CODE, refused, None, *map(values, fields)))
            self._db.executemany(self._insert, records)
            if rows:
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'rows_read'", (str(rows[-1].line),))
            if complete:
                self._refuse_repeats()
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('input_complete', '1')")

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
