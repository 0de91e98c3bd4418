"""The backfill journal: a SQLite file that records every input item from the moment it is read to its outcome.

Schema (``SCHEMA_VERSION`` 4, in ``_journal_file``; the item columns after ``key_hash`` are the op's ``Layout``,
here the email ops'), laid out for size: a 1,000,000-row backfill keeps one row
per item on disk and only a window of them in memory. What each byte of an item buys (Zoho ids of 19 digits,
message ids of 64-96)::

    meta(key TEXT PRIMARY KEY, value TEXT)    -- operation, input path, size, sha256, rows read so far, complete
    outcomes(id INTEGER PRIMARY KEY,          -- each distinct (code, status, message, transient) once: a finished
             code, status, message, transient)  -- item points here with 1-2 bytes instead of ~45 of text
    items(line INTEGER PRIMARY KEY,           -- the input line (the rowid: no bytes of its own); stable, because
                                              --   the file is pinned by sha256
          state INTEGER,                      -- 0 pending, 1 in flight, 2 done: 0 bytes (SQLite stores 0 and 1 in
                                              --   the record header) or 1
          outcome INTEGER,                    -- outcomes.id once done: 1-2 bytes, NULL (0 bytes) before
          attempts INTEGER,                   -- requests it took, for the report: 0-1 bytes
          key_hash INTEGER,                   -- 8 bytes of blake2b of the layout's key (contact_id, message_id):
                                              --   once the input is read, one sort of them finds every
                                              --   repeat (no index kept while reading); NULL for a refused row
          contact_id, message_id, deal_id,    -- the row's fields as given (~140 bytes): what is sent and reported,
          owner_id, deal_name, owner_name,    --   so neither a resume nor the report re-reads the input
          previous_deal_id)                   -- relink: the deal the email was on, committed before its unlink
                                              --   can be sent; NULL (0 bytes) for every other item
    INDEX items_in_flight                     -- only the rows in flight (partial index; state in it so that
          ON items(line, state)               --   it covers what is asked of them): a resume finds them without
          WHERE state = 1                     --   a scan; marking an item in flight adds its entry, marking it
                                              --   done takes it out, and nothing else moves
    VIEW items_readable                       -- the same with state, code, status and message as text, for people
About 205 bytes an item with SQLite's page overhead, against 600 for schema 2 (fields as JSON with their names,
a text key repeated in a UNIQUE index, text outcomes, a timestamp nobody read).

Pending rows are found by line, the table's own key, from the lowest line that may still be pending
(``_pending_from``, kept in memory: every pending row is at or past it; taking rows moves it past them, anything
put back to pending moves it down to them). A per-state index would move each row's entry twice more (into it
when recorded, out of it when taken), about a third of what marking a batch in flight cost. Only a run's first
look walks the rows already done, once (a resume's), and then stops at the first pending one.

The input is recorded (``_journal_ingest``) in batches of ``INGEST_BATCH`` rows, one transaction each (``rows_read``
in ``meta`` moves with them, so a run killed while reading continues after the last recorded line). An item is
marked in flight and COMMITTED before its request can be sent, and done in the commit that takes its worker's next
batch (or when the worker stops): one commit a batch, not one a request, the journal's largest cost. A process
killed at any moment leaves each item pending (never sent), done (outcome known) or in flight (sent or not: the next
run reads the email back before deciding). WAL with ``synchronous=NORMAL`` survives a killed process; the in-flight
marks are additionally fsynced (``synchronous=FULL`` for that one transaction) so that even a power cut cannot make
a sent item look unsent. ``retry_failed`` puts items that ended in a final failure back to pending, for a rerun
asked to send them again. A relink's unlink takes an email off its deal before the link that moves it: the deal it
was on is committed the same way (``remember``, into the layout's note column) before the unlink can be sent, so a
run stopped in between hands it to the next run, which puts the email back there if it cannot be linked.

One run at a time: the journal file itself (the real file, whatever symlink or relative path names it) is locked
with ``flock`` for the run's life. SQLite's own locks are POSIX record locks, which ``flock`` does not touch.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._builders import builder
from ._journal_file import (
    DONE_CODE,
    IN_FLIGHT_CODE,
    PENDING_CODE,
    SCHEMA_VERSION,
    InputChanged,
    JournalBusy,
    JournalMismatch,
    Transaction,
    exclusive,
    prepare,
)  # fmt: skip
from ._journal_ingest import Ingest
from ._layout import Layout, Source
from ._outcome_table import INVALID_ROW, Outcome, OutcomeTable

__all__ = ["INVALID_ROW", "InputChanged", "Journal", "JournalBusy", "JournalItem", "JournalMismatch", "Outcome"]

PENDING, IN_FLIGHT, DONE = "pending", "in_flight", "done"
_STATE_CODES = {PENDING: PENDING_CODE, IN_FLIGHT: IN_FLIGHT_CODE, DONE: DONE_CODE}
_STATE_NAMES = {code: name for name, code in _STATE_CODES.items()}
_NO_LINE_AFTER = 1 << 62


@dataclasses.dataclass(frozen=True, slots=True)
class JournalItem:
    line: int
    fields: dict[str, str]
    state: str
    code: str | None = None
    status: str | None = None
    message: str | None = None
    attempts: int = 0
    #: What the op committed before a step a killed run must undo (relink: the deal the email was on when a run
    #: unlinked it); None: nothing.
    note: str | None = None

    @property
    def previous_deal_id(self) -> str | None:
        """The email ops' name for ``note``."""
        return self.note


#: ``JournalItem(...)`` of every field in order, at half the cost: one a row taken.
_journal_item = builder(JournalItem)


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """The rows refused before sending: how many, and the first few."""

    count: int
    first: list[tuple[int, str]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Sql:
    """The layout's parts of the statements, built once."""

    fields: str  # the field columns, comma-separated
    open_item: str  # what take_pending and in_flight read: line, the fields, the note
    json_fields: str  # json_object's arguments for the fields
    note: str  # the note column, or NULL

    @classmethod
    def of(cls, layout: Layout) -> _Sql:
        fields = ", ".join(layout.fields)
        note = layout.note or "NULL"
        json_fields = ", ".join(f"'{name}', {name}" for name in layout.fields)
        return cls(fields, f"line, {fields}, {note}", json_fields, note)


class Journal:
    """One journal file for the rows of one ``Layout``; every method is one short transaction."""

    __slots__ = ("_db", "_lock", "_outcomes", "_pending_from", "_sql", "layout", "path")

    def __init__(self, path: Path, layout: Layout) -> None:
        self.path = path
        self.layout = layout
        self._sql = _Sql.of(layout)
        #: No row below this line is pending (see the module's docstring): where the next look for one starts.
        self._pending_from = 0
        # The real file: a symlink or another spelling of the path must find the same lock and the same WAL.
        real = Path(os.path.realpath(path))
        self._lock = exclusive(real)
        try:
            # isolation_level=None: no implicit transactions; each method says BEGIN/COMMIT itself.
            self._db = sqlite3.connect(real, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # 16 MiB of pages (the default is 2): the duplicate index is written in hash order, all over the file.
            self._db.execute("PRAGMA cache_size=-16384")
            prepare(self._db, self.path, layout)
            self._outcomes = OutcomeTable(self._db)
        except BaseException:
            self._lock.close()
            raise

    def close(self) -> None:
        self._db.close()
        self._lock.close()  # closing the file releases the lock

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- binding to an input ----------------------------------------------------------------------------

    def bind(self, source: Source, operation: str) -> bool:
        """Tie the journal to this input and operation and record its rows; True when it was new (False: a resume).

        Rows are recorded in batches of ``INGEST_BATCH``, one transaction each; a journal left half-read by a
        killed run is completed from the line after the last one recorded.

        Raises:
            InputChanged: the input's content changed since the journal was made.
            JournalMismatch: the journal was started for another input or operation.
        """
        wanted = {
            "schema_version": SCHEMA_VERSION,
            "operation": operation,
            "input_path": source.name,
            "input_size": str(source.size),
            "input_sha256": source.sha256,
        }
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        fresh = not stored
        if stored:
            wrong = [key for key, value in wanted.items() if stored.get(key) != value]
            if wrong and set(wrong) <= {"input_size", "input_sha256"}:
                raise InputChanged(
                    f"{source.name} changed since its journal {self.path} was made: a journal resumes the input it "
                    f"was made for. Put it back, or start a new journal ({' and '.join(wrong)} differ)",
                    wrong,
                )
            if wrong:
                shown = "; ".join(f"{key}: journal has {stored.get(key)!r}, now {wanted[key]!r}" for key in wrong)
                raise JournalMismatch(
                    f"the journal {self.path} belongs to another run ({shown}); "
                    "use the same file and operation to resume, or --journal to start a new journal"
                )
        else:
            with self._transaction():
                self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", wanted.items())
                self._db.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (str(time.time()),))
                self._db.execute("INSERT INTO meta (key, value) VALUES ('rows_read', '0')")
        if stored.get("input_complete") != "1":
            self._pending_from = 0  # the rows recorded now are pending
            Ingest(self._db, self.layout, self._outcomes, self._transaction).record(
                source.rows(int(stored.get("rows_read", "0")))
            )
        return fresh

    def refused(self, shown: int, *, by_zoho: bool = False) -> Refused:
        """The rows refused before sending (bad fields, repeats), or with ``by_zoho`` the items sent that did not
        succeed: their count and the first ``shown`` of them (line, "CODE message")."""
        ids = (
            self._outcomes.where("code != ? AND status != 'success'", (INVALID_ROW,)) if by_zoho
            else self._outcomes.where("code = ?", (INVALID_ROW,))
        )  # fmt: skip
        if not ids:  # the usual case: no need to look at a single item
            return Refused(0, [])
        message = "o.code || ': ' || o.message" if by_zoho else "o.message"
        query = (
            f"SELECT items.line, {message} FROM items JOIN outcomes AS o ON o.id = items.outcome"
            f" WHERE items.outcome IN ({', '.join('?' * len(ids))}) ORDER BY items.line"
        )
        first: list[tuple[int, str]] = []
        count = 0
        for line, message in self._db.execute(query, ids):
            if count < shown:
                first.append((line, message))
            count += 1
        return Refused(count, first)

    def noted(self, code: str) -> tuple[int, int]:
        """Of the done items with ``code``: how many carry a note (relink: were taken off a deal), and how many of
        those failed for a transient cause (relink: not put back yet; the next run does it)."""
        ids = self._outcomes.where("code = ?", (code,))
        if not ids or self.layout.note is None:
            return (0, 0)
        noted, transient = self._db.execute(
            "SELECT COUNT(*), TOTAL(o.transient) FROM items JOIN outcomes AS o ON o.id = items.outcome"
            f" WHERE items.outcome IN ({', '.join('?' * len(ids))}) AND state = 2 AND {self.layout.note} IS NOT NULL",
            ids,
        ).fetchone()
        return int(noted), int(transient)

    #: The email ops' name for ``noted``: relinks that took an email off a deal.
    moved_off_a_deal = noted

    # -- state changes ----------------------------------------------------------------------------------

    def take_pending(self, limit: int, finished: Iterable[Outcome] = ()) -> list[JournalItem]:
        """The next ``limit`` pending items, marked in flight and durably committed before they are returned.

        ``finished`` (the outcomes of the batch a worker has just sent) is recorded in the same transaction: one
        commit a batch rather than one a request, the journal's largest cost. Until it is, those items are in
        flight, which a killed run reads back: nothing is lost by recording them late.
        """
        # FULL for this one commit: the mark that an item may have been sent must survive anything.
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():  # one statement: no other writer can take the same rows in between
                self._record_outcomes(finished)
                rows = self._db.execute(
                    "UPDATE items SET state = 1 WHERE line IN"
                    " (SELECT line FROM items WHERE line >= ? AND state = 0 ORDER BY line LIMIT ?)"
                    f" RETURNING {self._sql.open_item}",
                    (self._pending_from, limit),
                ).fetchall()
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")
        rows.sort()  # RETURNING's order is SQLite's to choose
        if rows:  # committed: every row up to the last one taken is now past pending
            self._pending_from = rows[-1][0] + 1
        elif limit > 0:
            self._pending_from = _NO_LINE_AFTER  # none is pending
        return self._open_items(rows)

    def remember(self, notes: Iterable[tuple[int, str]]) -> None:
        """Record (line, note) for in-flight items about to take a step a killed run must undo (relink: the deal
        each email is on now, before it is unlinked).

        Durable before it returns (``synchronous=FULL``, as the in-flight marks are): the step is sent only
        after this commit, so a run killed before it completes leaves the next run the note.
        """
        if self.layout.note is None:
            raise ValueError("this journal's layout has no note column")
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():
                self._db.executemany(
                    f"UPDATE items SET {self.layout.note} = ? WHERE line = ? AND state = 1",
                    ((note, line) for line, note in notes),
                )
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    #: The email ops' name for ``remember``: the deal a relink is about to take each email off.
    remember_previous = remember

    def finish(self, outcomes: Iterable[Outcome]) -> int:
        """Record final outcomes of in-flight items (one transaction); returns how many changed."""
        with self._transaction():
            return self._record_outcomes(outcomes)

    def _record_outcomes(self, outcomes: Iterable[Outcome]) -> int:
        """Mark in-flight items done (inside the caller's transaction); returns how many changed."""
        # One statement per distinct (outcome, attempts), usually one a batch: its lines as a JSON array.
        by_outcome: dict[tuple[str, str, str, bool, int], list[int]] = {}
        for o in outcomes:
            by_outcome.setdefault((o.code, o.status, o.message, o.transient, o.attempts), []).append(o.line)
        lines: dict[tuple[int, int], list[int]] = {}
        for (code, status, message, transient, attempts), group in by_outcome.items():
            lines.setdefault((self._outcomes.id_of(code, status, message, transient), attempts), []).extend(group)
        changed = 0
        for (outcome, attempts), group in lines.items():
            cursor = self._db.execute(
                "UPDATE items SET state = 2, outcome = ?, attempts = attempts + ?"
                " WHERE line IN (SELECT value FROM json_each(?)) AND state = 1",
                (outcome, attempts, json.dumps(group)),
            )
            changed += cursor.rowcount
        return changed

    def release(self, lines: Iterable[int], attempts: int = 0) -> None:
        """Put in-flight items back to pending: they are known not to have taken effect."""
        released = list(lines)
        with self._transaction():
            self._db.executemany(
                "UPDATE items SET state = 0, attempts = attempts + ? WHERE line = ? AND state = 1",
                ((attempts, line) for line in released),
            )
        if released:
            self._pending_from = min(self._pending_from, *released)

    def reopen_transient_failures(self) -> int:
        """Put items that failed for a transient cause (no response, 429, 5xx, an unreadable answer) back in
        flight, so a new run reads them back and sends them again if they did not take effect. Returns how many."""
        return self._reopen(self._outcomes.transient(), _STATE_CODES[IN_FLIGHT])

    def retry_failed(self) -> int:
        """Put items that ended in a final failure (a refusal by Zoho; not a refused row, which would fail the same
        way) back to pending, for a run asked to send them again. Returns how many."""
        return self._reopen(self._outcomes.final_failures(), _STATE_CODES[PENDING])

    def _reopen(self, outcome_ids: Sequence[int], state: int) -> int:
        if not outcome_ids:  # nothing failed that way: a finished journal's rerun reads no item
            return 0
        with self._transaction():
            cursor = self._db.execute(
                f"UPDATE items SET state = ?, outcome = NULL WHERE state = 2"
                f" AND outcome IN ({', '.join('?' * len(outcome_ids))})",
                (state, *outcome_ids),
            )
        if state == PENDING_CODE:
            self._pending_from = 0  # anywhere: the next look finds the first
        return cursor.rowcount

    def transient_failures(self) -> int:
        """Done items that failed for a transient cause: the next run reads them back and tries them again."""
        ids = self._outcomes.transient()
        if not ids:
            return 0
        (count,) = self._db.execute(
            f"SELECT COUNT(*) FROM items WHERE state = 2 AND outcome IN ({', '.join('?' * len(ids))})", ids
        ).fetchone()
        return int(count)

    # -- reading ----------------------------------------------------------------------------------------

    def in_flight(self, after_line: int = 0, limit: int = -1) -> list[JournalItem]:
        """Items in flight past ``after_line``, in line order (at most ``limit``; -1: all)."""
        cursor = self._db.execute(
            f"SELECT {self._sql.open_item} FROM items WHERE state = 1 AND line > ? ORDER BY line LIMIT ?",
            (after_line, limit),
        )
        return self._open_items(cursor.fetchall())

    def in_flight_count(self) -> int:
        """How many items are in flight (counted in their index)."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM items WHERE state = 1").fetchone()
        return int(count)

    def first_open_line(self) -> int | None:
        """The lowest line not done yet (None: all done); every line below it is final."""
        # The runner asks after every batch: an index seek and a look from ``_pending_from``, never a walk over
        # the done rows (which made a 1,000,000-item run quadratic).
        (in_flight,) = self._db.execute("SELECT MIN(line) FROM items WHERE state = 1").fetchone()
        pending = self._first_pending()
        lines = [line for line in (in_flight, pending) if line is not None]
        return min(lines) if lines else None

    def _first_pending(self) -> int | None:
        """The lowest pending line (None: none), found from ``_pending_from``, which moves up to it."""
        row = self._db.execute(
            "SELECT line FROM items WHERE line >= ? AND state = 0 ORDER BY line LIMIT 1", (self._pending_from,)
        ).fetchone()
        self._pending_from = _NO_LINE_AFTER if row is None else int(row[0])
        return self._pending_from if row is not None else None

    def items(self, after_line: int = 0, before_line: int | None = None) -> Iterator[JournalItem]:
        """Items in line order from ``after_line`` (excluded) to ``before_line`` (excluded; None: the end),
        read a window at a time."""
        end = before_line if before_line is not None else _NO_LINE_AFTER
        return self._read_items("line > ? AND line < ?", (after_line, end))

    def unsuccessful(self) -> Iterator[JournalItem]:
        """The items whose outcome is not a success (refused rows included), in line order. Only they are read:
        a run's failed rows file costs nothing when none failed (the usual case), and no JournalItem a row else."""
        ids = self._outcomes.where("status != 'success'", ())
        if not ids:
            return iter(())
        return self._read_items(f"items.outcome IN ({', '.join('?' * len(ids))})", ids)

    def _read_items(self, where: str, args: Sequence[object]) -> Iterator[JournalItem]:
        cursor = self._db.execute(
            f"SELECT line, state, o.code, o.status, o.message, attempts, {self._sql.note}, {self._sql.fields}"
            f" FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome WHERE {where} ORDER BY line",
            args,
        )
        while window := cursor.fetchmany(1_000):
            for line, state, code, status, message, attempts, note, *fields in window:
                yield JournalItem(
                    line, self._fields(fields), _STATE_NAMES[state], code, status, message, attempts, note
                )

    def report_lines(self, after_line: int = 0, before_line: int | None = None) -> Iterator[tuple[int, str]]:
        """(line, the item as one JSON object) in line order, between the lines given (both excluded): the
        report's lines, built by SQLite itself (a million items in about a second)."""
        item = (
            f"'line', line, {self._sql.json_fields}, 'code', o.code,"
            " 'status', CASE state WHEN 2 THEN o.status WHEN 1 THEN 'in_flight' ELSE 'pending' END,"
            " 'message', o.message, 'attempts', attempts"
        )
        # The note only where the op wrote one: a CASE, not json_patch, which parses both objects again a row.
        note = self.layout.note
        record = (
            f"CASE WHEN {note} IS NULL THEN json_object({item}) ELSE json_object({item}, '{note}', {note}) END"
            if note else f"json_object({item})"
        )  # fmt: skip
        cursor = self._db.execute(
            f"SELECT line, {record} FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome"
            " WHERE line > ? AND line < ? ORDER BY line",
            (after_line, before_line if before_line is not None else _NO_LINE_AFTER),
        )
        while window := cursor.fetchmany(1_000):
            yield from window

    def states(self) -> Mapping[str, int]:
        """Items by state (a state no item is in is left out). In flight is counted in its index, pending from
        the first pending line on, and done is the rest of SQLite's quickest count of them all."""
        counts: dict[str, int] = {}
        first = self._first_pending()
        if first is not None:
            query = "SELECT COUNT(*) FROM items WHERE line >= ? AND state = 0"
            (pending,) = self._db.execute(query, (first,)).fetchone()
            counts[PENDING] = int(pending)
        if in_flight := self.in_flight_count():
            counts[IN_FLIGHT] = in_flight
        (total,) = self._db.execute("SELECT COUNT(*) FROM items").fetchone()
        if total > sum(counts.values()):
            counts[DONE] = total - sum(counts.values())
        return counts

    def outcomes(self) -> Mapping[tuple[str, str], int]:
        """(code, status) -> items, over the done items."""
        rows = self._db.execute(
            "SELECT o.code, o.status, SUM(counted.items) FROM outcomes AS o JOIN"
            " (SELECT outcome, COUNT(*) AS items FROM items WHERE state = 2 GROUP BY outcome) AS counted"
            " ON counted.outcome = o.id GROUP BY o.code, o.status"
        ).fetchall()
        return {(code, status): int(count) for code, status, count in rows}

    def _transaction(self) -> Transaction:
        # A rolled-back transaction takes the outcome rows it added with it: forget their ids too.
        return Transaction(self._db, self._outcomes.forget)

    def _open_items(self, rows: Sequence[Sequence[Any]]) -> list[JournalItem]:
        """JournalItems in flight from rows of ``_Sql.open_item`` (line, the fields, the note)."""
        names, item = self.layout.fields, _journal_item
        return [
            item(
                row[0], {name: value for name, value in zip(names, row[1:-1], strict=True) if value is not None},
                IN_FLIGHT, None, None, None, 0, row[-1],
            )
            for row in rows
        ]  # fmt: skip

    def _fields(self, values: Sequence[str | None]) -> dict[str, str]:
        return {name: value for name, value in zip(self.layout.fields, values, strict=True) if value is not None}
