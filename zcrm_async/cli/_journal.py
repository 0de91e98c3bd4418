"""The backfill journal: a SQLite file that records every input item from the moment it is read to its outcome.

Schema (``SCHEMA_VERSION`` 4, in ``_journal_file``), laid out for size: a 1,000,000-row backfill keeps one row
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
          key_hash INTEGER,                   -- 8 bytes of blake2b(contact_id, message_id): refuses a repeated
                                              --   email in constant memory; NULL for a refused row
          contact_id, message_id, deal_id,    -- the row's fields as given (~140 bytes): what is sent and reported,
          owner_id, deal_name, owner_name,    --   so neither a resume nor the report re-reads the input
          previous_deal_id)                   -- relink: the deal the email was on, committed before its unlink
                                              --   can be sent; NULL (0 bytes) for every other item
    INDEX items_key ON items(key_hash)        -- ~14 bytes an item: finds an earlier row with the same email
    INDEX items_open ON items(state, line)    -- only rows not done (partial index): the next pending window and
          WHERE state < 2                     --   the in-flight rows are found without a scan, and the index
                                              --   empties as the run finishes
    VIEW items_readable                       -- the same with state, code, status and message as text, for people
About 205 bytes an item with SQLite's page overhead, against 600 for schema 2 (fields as JSON with their names,
a text key repeated in a UNIQUE index, text outcomes, a timestamp nobody read).

The input is recorded in batches of ``INGEST_BATCH`` rows, one transaction each (``rows_read`` in ``meta`` moves
with them, so a run killed while reading continues after the last recorded line). An item is marked in flight and
COMMITTED before its request can be sent, and done in the commit that takes its worker's next batch (or when the
worker stops): one commit a batch, not one a request, the journal's largest cost. A process killed at any
moment leaves each item pending (never sent), done (outcome known) or in flight (sent or not: the next run reads
the email back before deciding). WAL with ``synchronous=NORMAL`` survives a killed process; the in-flight marks are
additionally fsynced (``synchronous=FULL`` for that one transaction) so that even a power cut cannot make a sent
item look unsent. A relink's unlink takes an email off its deal before the link that moves it: the deal it was on
is committed the same way (``remember_previous``) before the unlink can be sent, so a run stopped in between hands
it to the next run, which puts the email back there if it cannot be linked.

One run at a time: the journal file itself (the real file, whatever symlink or relative path names it) is locked
with ``flock`` for the run's life. SQLite's own locks are POSIX record locks, which ``flock`` does not touch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..outcomes import TRANSIENT
from ._input import FIELDS, Row, duplicate_of
from ._journal_file import COLUMNS, SCHEMA_VERSION, JournalBusy, JournalMismatch, Transaction, exclusive, prepare

__all__ = ["Journal", "JournalBusy", "JournalItem", "JournalMismatch", "Outcome"]

PENDING, IN_FLIGHT, DONE = "pending", "in_flight", "done"
_STATE_CODES = {PENDING: 0, IN_FLIGHT: 1, DONE: 2}
_STATE_NAMES = {code: name for name, code in _STATE_CODES.items()}
#: The library's transient codes, in a fixed order for SQL parameters (journals written before the flag).
_TRANSIENT = tuple(sorted(TRANSIENT))
#: The code of a row refused before sending (bad fields, a duplicate).
INVALID_ROW = "INVALID_ROW"
#: Rows recorded per transaction while reading the input.
INGEST_BATCH = 5_000
#: Distinct outcomes remembered in memory (beyond it the table is asked): Zoho's messages are few, but a run of
#: refused rows has one each.
_OUTCOME_CACHE = 4_096
#: SQLite's limit on ? parameters is 32,766; lookups stay well under it.
_LOOKUP_CHUNK = 500

_JSON_FIELDS = ", ".join(f"'{name}', {name}" for name in FIELDS)
_COLUMNS = COLUMNS
#: What take_pending and in_flight read of an item: its line, its fields, the deal a relink took it off.
_OPEN_ITEM = f"line, {COLUMNS}, previous_deal_id"


class Source(Protocol):
    """What the journal is bound to: an input's identity, and its rows read on demand."""

    @property
    def path(self) -> Path: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    def rows(self, after_line: int = 0) -> Iterator[Row]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class JournalItem:
    line: int
    fields: dict[str, str]
    state: str
    code: str | None = None
    status: str | None = None
    message: str | None = None
    attempts: int = 0
    #: relink: the deal the email was on when a run unlinked it (None: not known to have been moved).
    previous_deal_id: str | None = None


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


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """The rows refused before sending: how many, and the first few."""

    count: int
    first: list[tuple[int, str]]


def _key_hash(contact_id: str, message_id: str) -> int:
    digest = hashlib.blake2b(f"{contact_id}\0{message_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Journal:
    """One journal file; every method is one short transaction."""

    __slots__ = ("_db", "_lock", "_outcome_ids", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        # The real file: a symlink or another spelling of the path must find the same lock and the same WAL.
        real = Path(os.path.realpath(path))
        self._lock = exclusive(real)
        self._outcome_ids: dict[tuple[str, str, str, int], int] = {}
        try:
            # isolation_level=None: no implicit transactions; each method says BEGIN/COMMIT itself.
            self._db = sqlite3.connect(real, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # 16 MiB of pages (the default is 2): the duplicate index is written in hash order, all over the file.
            self._db.execute("PRAGMA cache_size=-16384")
            prepare(self._db, self.path)
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
        """Tie the journal to this file and operation and record its rows; True when it was new (False: a resume).

        Rows are recorded in batches of ``INGEST_BATCH``, one transaction each; a journal left half-read by a
        killed run is completed from the line after the last one recorded.

        Raises:
            JournalMismatch: the journal was started for another file, content or operation.
        """
        wanted = {
            "schema_version": SCHEMA_VERSION,
            "operation": operation,
            "input_path": str(source.path.resolve()),
            "input_size": str(source.size),
            "input_sha256": source.sha256,
        }
        stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        fresh = not stored
        if stored:
            wrong = [key for key, value in wanted.items() if stored.get(key) != value]
            if wrong and set(wrong) <= {"input_size", "input_sha256"}:
                raise JournalMismatch(
                    f"{source.path} changed since its journal {self.path} was made: a journal resumes the file it "
                    "was made for. Put the file back, or run the edited file with a new journal (--journal NEW); "
                    "the earlier run's failed rows are in its --report's .failed.csv, to run on their own "
                    f"({' and '.join(wrong)} differ)"
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
            self._record_rows(source.rows(int(stored.get("rows_read", "0"))))
        return fresh

    def _record_rows(self, rows: Iterator[Row]) -> None:
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= INGEST_BATCH:
                self._record_batch(batch, complete=False)
                batch = []
        self._record_batch(batch, complete=True)

    def _record_batch(self, rows: Sequence[Row], *, complete: bool) -> None:
        """One transaction: the rows (a repeat of an earlier email refused), and how far the input was read."""
        hashes = [_key_hash(row.fields["contact_id"], row.fields["message_id"]) if row.ok else None for row in rows]
        with self._transaction():
            earlier = self._earlier_lines({h for h in hashes if h is not None})
            records = []
            for row, key in zip(rows, hashes, strict=True):
                if key is not None:
                    ids = (row.fields["contact_id"], row.fields["message_id"])
                    first = earlier.setdefault(key, {}).setdefault(ids, row.line)
                    if first != row.line:
                        row, key = duplicate_of(row, first), None
                outcome = None if row.ok else self._outcome_id(INVALID_ROW, "error", row.error or "", False)
                state = _STATE_CODES[PENDING] if row.ok else _STATE_CODES[DONE]
                records.append((row.line, state, outcome, key, *(row.fields.get(name) for name in FIELDS)))
            self._db.executemany(
                f"INSERT INTO items (line, state, outcome, attempts, key_hash, {_COLUMNS})"
                f" VALUES (?, ?, ?, 0, ?, {', '.join('?' * len(FIELDS))})",
                records,
            )
            if rows:
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'rows_read'", (str(rows[-1].line),))
            if complete:
                self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('input_complete', '1')")

    def _earlier_lines(self, hashes: set[int]) -> dict[int, dict[tuple[str, str], int]]:
        """key_hash -> {(contact_id, message_id): line} of recorded rows with these hashes (a hash may collide)."""
        found: dict[int, dict[tuple[str, str], int]] = {}
        keys = list(hashes)
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            part = keys[start : start + _LOOKUP_CHUNK]
            cursor = self._db.execute(
                f"SELECT key_hash, contact_id, message_id, line FROM items"
                f" WHERE key_hash IN ({', '.join('?' * len(part))})",
                part,
            )
            for key, contact_id, message_id, line in cursor:
                found.setdefault(key, {}).setdefault((contact_id, message_id), line)
        return found

    def refused(self, shown: int, *, by_zoho: bool = False) -> Refused:
        """The rows refused before sending (bad fields, repeats), or with ``by_zoho`` the items sent that did not
        succeed: their count and the first ``shown`` of them (line, "CODE message")."""
        ids = (
            self._outcome_ids_where("code != ? AND status != 'success'", (INVALID_ROW,)) if by_zoho
            else self._outcome_ids_where("code = ?", (INVALID_ROW,))
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

    def moved_off_a_deal(self, code: str) -> tuple[int, int]:
        """Of the done items with ``code``: how many a relink took off a deal (their previous deal is recorded),
        and how many of those failed for a transient cause (not put back yet: the next run does it)."""
        ids = self._outcome_ids_where("code = ?", (code,))
        if not ids:
            return (0, 0)
        moved, transient = self._db.execute(
            "SELECT COUNT(*), TOTAL(o.transient) FROM items JOIN outcomes AS o ON o.id = items.outcome"
            f" WHERE items.outcome IN ({', '.join('?' * len(ids))}) AND state = 2 AND previous_deal_id IS NOT NULL",
            ids,
        ).fetchone()
        return int(moved), int(transient)

    def _outcome_ids_where(self, condition: str, args: Sequence[object]) -> list[int]:
        """Ids of the recorded outcomes meeting ``condition``: the outcomes table is small, the items are not."""
        return [row[0] for row in self._db.execute(f"SELECT id FROM outcomes WHERE {condition}", args)]

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
                    " (SELECT line FROM items WHERE state < 2 AND state = 0 ORDER BY line LIMIT ?)"
                    f" RETURNING {_OPEN_ITEM}",
                    (limit,),
                ).fetchall()
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")
        rows.sort()  # RETURNING's order is SQLite's to choose
        return [_open_item(row) for row in rows]

    def remember_previous(self, moves: Iterable[tuple[int, str]]) -> None:
        """Record (line, deal id) for in-flight items a relink is about to unlink: the deal each is on now.

        Durable before it returns (``synchronous=FULL``, as the in-flight marks are): the unlink is sent only
        after this commit, so a run killed before the email is linked again leaves the next run its old deal.
        """
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():
                self._db.executemany(
                    "UPDATE items SET previous_deal_id = ? WHERE line = ? AND state = 1",
                    ((deal_id, line) for line, deal_id in moves),
                )
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")

    def finish(self, outcomes: Iterable[Outcome]) -> int:
        """Record final outcomes of in-flight items (one transaction); returns how many changed."""
        with self._transaction():
            return self._record_outcomes(outcomes)

    def _record_outcomes(self, outcomes: Iterable[Outcome]) -> int:
        """Mark in-flight items done (inside the caller's transaction); returns how many changed."""
        # One statement per distinct (outcome, attempts), usually one a batch: its lines as a JSON array.
        lines: dict[tuple[int, int], list[int]] = {}
        for o in outcomes:
            outcome = self._outcome_id(o.code, o.status, o.message, o.transient)
            lines.setdefault((outcome, o.attempts), []).append(o.line)
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
        with self._transaction():
            self._db.executemany(
                "UPDATE items SET state = 0, attempts = attempts + ? WHERE line = ? AND state = 1",
                ((attempts, line) for line in lines),
            )

    def reopen_transient_failures(self) -> int:
        """Put items that failed for a transient cause (no response, 429, 5xx, an unreadable answer) back in
        flight, so a new run reads them back and sends them again if they did not take effect. Returns how many."""
        ids = self._transient_outcome_ids()
        if not ids:  # nothing failed that way: a finished journal's rerun reads no item
            return 0
        with self._transaction():
            cursor = self._db.execute(
                f"UPDATE items SET state = 1 WHERE state = 2 AND outcome IN ({', '.join('?' * len(ids))})", ids
            )
            return cursor.rowcount

    def transient_failures(self) -> int:
        """Done items that failed for a transient cause: the next run reads them back and tries them again."""
        ids = self._transient_outcome_ids()
        if not ids:
            return 0
        (count,) = self._db.execute(
            f"SELECT COUNT(*) FROM items WHERE state = 2 AND outcome IN ({', '.join('?' * len(ids))})", ids
        ).fetchone()
        return int(count)

    def _transient_outcome_ids(self) -> list[int]:
        codes = ", ".join("?" * len(_TRANSIENT))
        return self._outcome_ids_where(
            f"status != 'success' AND (transient = 1 OR code IN ({codes}))", _TRANSIENT
        )

    def _outcome_id(self, code: str, status: str, message: str, transient: bool) -> int:
        """The id of this outcome in ``outcomes``, added if new (inside the caller's transaction)."""
        key = (code, status, message or "", int(transient))
        known = self._outcome_ids.get(key)
        if known is not None:
            return known
        self._db.execute("INSERT OR IGNORE INTO outcomes (code, status, message, transient) VALUES (?, ?, ?, ?)", key)
        (found,) = self._db.execute(
            "SELECT id FROM outcomes WHERE code = ? AND status = ? AND message = ? AND transient = ?", key
        ).fetchone()
        if len(self._outcome_ids) >= _OUTCOME_CACHE:
            self._outcome_ids.clear()
        self._outcome_ids[key] = found
        return int(found)

    # -- reading ----------------------------------------------------------------------------------------

    def in_flight(self, after_line: int = 0, limit: int = -1) -> list[JournalItem]:
        """Items in flight past ``after_line``, in line order (at most ``limit``; -1: all)."""
        cursor = self._db.execute(
            f"SELECT {_OPEN_ITEM} FROM items WHERE state < 2 AND state = 1 AND line > ? ORDER BY line LIMIT ?",
            (after_line, limit),
        )
        return [_open_item(row) for row in cursor]

    def first_open_line(self) -> int | None:
        """The lowest line not done yet (None: all done); every line below it is final."""
        # One index seek per state: a bare MIN(line) ... WHERE state < 2 walks the rowids from the start, over
        # every done row, and the runner asks this after every batch.
        (line,) = self._db.execute(
            "SELECT MIN(first) FROM (SELECT MIN(line) AS first FROM items WHERE state < 2 AND state = 0"
            " UNION ALL SELECT MIN(line) FROM items WHERE state < 2 AND state = 1)"
        ).fetchone()
        return None if line is None else int(line)

    def items(self, after_line: int = 0, before_line: int | None = None) -> Iterator[JournalItem]:
        """Items in line order from ``after_line`` (excluded) to ``before_line`` (excluded; None: the end),
        read a window at a time."""
        cursor = self._db.execute(
            f"SELECT line, state, o.code, o.status, o.message, attempts, {_COLUMNS}"
            " FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome"
            " WHERE line > ? AND line < ? ORDER BY line",
            (after_line, before_line if before_line is not None else 1 << 62),
        )
        while window := cursor.fetchmany(1_000):
            for line, state, code, status, message, attempts, *fields in window:
                yield JournalItem(line, _fields(fields), _STATE_NAMES[state], code, status, message, attempts)

    def report_lines(self, after_line: int = 0, before_line: int | None = None) -> Iterator[tuple[int, str]]:
        """(line, the item as one JSON object) in line order, between the lines given (both excluded): the
        report's lines, built by SQLite itself (a million items in about a second)."""
        # json_patch drops a key patched with null: previous_deal_id appears only where a relink moved the email.
        cursor = self._db.execute(
            f"SELECT line, json_patch(json_object('line', line, {_JSON_FIELDS},"
            " 'code', o.code,"
            " 'status', CASE state WHEN 2 THEN o.status WHEN 1 THEN 'in_flight' ELSE 'pending' END,"
            " 'message', o.message, 'attempts', attempts), json_object('previous_deal_id', previous_deal_id))"
            " FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome"
            " WHERE line > ? AND line < ? ORDER BY line",
            (after_line, before_line if before_line is not None else 1 << 62),
        )
        while window := cursor.fetchmany(1_000):
            yield from window

    def states(self) -> Mapping[str, int]:
        """Items by state. The open ones are counted in their index, the rest by SQLite's quickest count."""
        rows = self._db.execute("SELECT state, COUNT(*) FROM items WHERE state < 2 GROUP BY state").fetchall()
        counts = {_STATE_NAMES[state]: count for state, count in rows}
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
        return Transaction(self._db, self._outcome_ids.clear)


def _open_item(row: Sequence[Any]) -> JournalItem:
    """A JournalItem in flight from a row of ``_OPEN_ITEM``."""
    line, *fields, previous = row
    return JournalItem(line, _fields(fields), IN_FLIGHT, previous_deal_id=previous)


def _fields(values: Sequence[str | None]) -> dict[str, str]:
    return {name: value for name, value in zip(FIELDS, values, strict=True) if value is not None}
