"""The backfill journal: a SQLite file that records every input item from the moment it is read to its outcome.

Schema (``SCHEMA_VERSION`` 2)::

    meta(key TEXT PRIMARY KEY, value TEXT)      -- operation, input path, size, sha256, schema version
    items(line INTEGER PRIMARY KEY,             -- the input line: stable, because the file is pinned by sha256
          item_key TEXT UNIQUE,                 -- "op:contact_id:message_id"; NULL for refused rows
          fields TEXT,                          -- the row's item fields as JSON (ids and names, never secrets)
          state TEXT,                           -- pending -> in_flight -> done
          code, status, message, attempts, updated REAL,
          passing INTEGER)                      -- 1: failed for a transient cause (no response, 429, 5xx)

An item is marked ``in_flight`` and COMMITTED before its request can be sent, and ``done`` right after its
request's result: a process killed at any moment leaves each item pending (never sent), done (outcome known) or
in flight (sent or not: the next run reads the email back before deciding). WAL with ``synchronous=NORMAL``
survives a killed process; the in-flight marks are additionally fsynced (``synchronous=FULL`` for that one
transaction) so that even a power cut cannot make a sent item look unsent.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from ._input import InputFile, Row, item_key

__all__ = ["Journal", "JournalItem", "JournalMismatch", "Outcome"]

SCHEMA_VERSION = "2"
PENDING, IN_FLIGHT, DONE = "pending", "in_flight", "done"
#: Failures a later run may cure: the item's request may or may not have taken effect, so it is read back first.
TRANSIENT_FAILURES = (
    "TRANSPORT_ERROR", "TOO_MANY_REQUESTS", "INTERNAL_ERROR", "NO_RESULT", "UNREADABLE_RESULT", "NO_CONTENT",
    "LINK_UNVERIFIED",
)  # fmt: skip
#: The code of a row refused before sending (bad fields, a duplicate).
INVALID_ROW = "INVALID_ROW"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    line INTEGER PRIMARY KEY,
    item_key TEXT UNIQUE,
    fields TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'done')),
    code TEXT,
    status TEXT,
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    passing INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS items_state ON items (state, line);
"""


class JournalMismatch(ValueError):
    """The journal belongs to another input file or operation."""


@dataclasses.dataclass(frozen=True, slots=True)
class JournalItem:
    line: int
    fields: dict[str, str]
    state: str
    code: str | None = None
    status: str | None = None
    message: str | None = None
    attempts: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """The final result of one item, to be written."""

    line: int
    code: str
    status: str
    message: str
    attempts: int
    #: Failed for a transient cause (no response, 429, 5xx, an answer that could not be read): a rerun tries again.
    #: Stored in the journal's ``passing`` column.
    transient: bool = False


class JournalBusy(Exception):
    """Another run holds the journal."""


def _exclusive(path: Path) -> IO[bytes]:
    """An exclusive lock held for the journal's life: two runs of one journal would send the same items."""
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise JournalBusy(f"another run is using the journal {path.with_suffix('')}; wait for it to end") from None
    return handle


class Journal:
    """One journal file; every method is one short transaction."""

    __slots__ = ("_db", "_lock", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = _exclusive(path.with_name(path.name + ".lock"))
        try:
            # isolation_level=None: no implicit transactions; each method says BEGIN/COMMIT itself.
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
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

    def bind(self, source: InputFile, operation: str) -> bool:
        """Tie the journal to this file and operation; returns True when it was new (False: a resume).

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
        if stored:
            wrong = [key for key, value in wanted.items() if stored.get(key) != value]
            if wrong:
                shown = "; ".join(f"{key}: journal has {stored.get(key)!r}, now {wanted[key]!r}" for key in wrong)
                raise JournalMismatch(
                    f"the journal {self.path} belongs to another run ({shown}); "
                    "use the same file and operation to resume, or --journal to start a new journal"
                )
            return False
        with self._transaction():
            self._db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", wanted.items())
            self._db.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (str(time.time()),))
            self._add_rows(source.rows, operation)
        return True

    def _add_rows(self, rows: Sequence[Row], operation: str) -> None:
        now = time.time()
        self._db.executemany(
            "INSERT INTO items (line, item_key, fields, state, code, status, message, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (row.line, item_key(operation, row.fields), json.dumps(row.fields), PENDING, None, None, None, now)
                if row.ok
                else (row.line, None, json.dumps(row.fields), DONE, INVALID_ROW, "error", row.error, now)
                for row in rows
            ),
        )

    # -- state changes ----------------------------------------------------------------------------------

    def take_pending(self, limit: int) -> list[JournalItem]:
        """The next ``limit`` pending items, marked in flight and durably committed before they are returned."""
        # FULL for this one commit: the mark that an item may have been sent must survive anything.
        self._db.execute("PRAGMA synchronous=FULL")
        try:
            with self._transaction():  # the SELECT inside: no other writer can take the same rows in between
                rows = self._db.execute(
                    "SELECT line, fields FROM items WHERE state = ? ORDER BY line LIMIT ?", (PENDING, limit)
                ).fetchall()
                self._db.executemany(
                    "UPDATE items SET state = ?, updated = ? WHERE line = ?",
                    ((IN_FLIGHT, time.time(), line) for line, _ in rows),
                )
        finally:
            self._db.execute("PRAGMA synchronous=NORMAL")
        return [JournalItem(line, json.loads(fields), IN_FLIGHT) for line, fields in rows]

    def finish(self, outcomes: Iterable[Outcome]) -> int:
        """Record final outcomes of in-flight items (one transaction); returns how many changed."""
        now = time.time()
        with self._transaction():
            cursor = self._db.executemany(
                "UPDATE items SET state = ?, code = ?, status = ?, message = ?, attempts = attempts + ?,"
                " updated = ?, passing = ? WHERE line = ? AND state = ?",
                (
                    (DONE, o.code, o.status, o.message, o.attempts, now, int(o.transient), o.line, IN_FLIGHT)
                    for o in outcomes
                ),
            )
            return cursor.rowcount

    def release(self, lines: Iterable[int], attempts: int = 0) -> None:
        """Put in-flight items back to pending: they are known not to have taken effect."""
        with self._transaction():
            self._db.executemany(
                "UPDATE items SET state = ?, attempts = attempts + ?, updated = ? WHERE line = ? AND state = ?",
                ((PENDING, attempts, time.time(), line, IN_FLIGHT) for line in lines),
            )

    def reopen_transient_failures(self) -> int:
        """Put items that failed for a transient cause (no response, 429, 5xx, an unreadable answer) back in
        flight, so a new run reads them back and sends them again if they did not take effect. Returns how many."""
        with self._transaction():
            cursor = self._db.execute(
                f"UPDATE items SET state = ?, updated = ? WHERE state = ? AND status != 'success'"
                f" AND (passing = 1 OR code IN ({', '.join('?' * len(TRANSIENT_FAILURES))}))",
                (IN_FLIGHT, time.time(), DONE, *TRANSIENT_FAILURES),
            )
            return cursor.rowcount

    # -- reading ----------------------------------------------------------------------------------------

    def in_flight(self) -> list[JournalItem]:
        return self._select("WHERE state = ?", (IN_FLIGHT,))

    def items(self) -> Iterator[JournalItem]:
        """Every item, in line order."""
        cursor = self._db.execute(
            "SELECT line, fields, state, code, status, message, attempts FROM items ORDER BY line"
        )
        for line, fields, state, code, status, message, attempts in cursor:
            yield JournalItem(line, json.loads(fields), state, code, status, message, attempts)

    def states(self) -> Mapping[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())

    def outcomes(self) -> Mapping[tuple[str, str], int]:
        """(code, status) -> items, over the done items."""
        rows = self._db.execute(
            "SELECT code, status, COUNT(*) FROM items WHERE state = ? GROUP BY code, status", (DONE,)
        ).fetchall()
        return {(code, status): count for code, status, count in rows}

    def _select(self, where: str, args: tuple[object, ...]) -> list[JournalItem]:
        cursor = self._db.execute(
            f"SELECT line, fields, state, code, status, message, attempts FROM items {where} ORDER BY line", args
        )
        return [JournalItem(line, json.loads(f), s, c, st, m, a) for line, f, s, c, st, m, a in cursor]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
