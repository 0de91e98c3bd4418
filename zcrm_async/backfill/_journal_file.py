"""The journal's file: one run's lock on it, its tables (and bringing those of an earlier version up to date),
and its transactions. ``_journal`` says what each column buys; the op's ``Layout`` names the item columns.

Schema 4 adds the note column (``items.previous_deal_id`` for the email ops: the deal a relink found an email on,
committed before its unlink can be sent, so that a run stopped before the email is linked again can put it back;
NULL, 0 bytes, everywhere else). A schema 3 journal gains the column in place and resumes; any other version is
refused, and so is a journal whose item columns are not the op's (a journal of another kind of backfill).

The index is made as the journal is opened (and the earlier ``items_open`` dropped): no column changed, so the
version did not, and a schema 4 journal written with the earlier index resumes as it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from ._layout import Layout

__all__ = [
    "DONE_CODE", "IN_FLIGHT_CODE", "PENDING_CODE", "SCHEMA_VERSION", "InputChanged", "JournalBusy", "JournalMismatch",
    "Transaction", "exclusive", "prepare",
]  # fmt: skip

SCHEMA_VERSION = "4"
#: ``items.state``: pending, in flight, done.
PENDING_CODE, IN_FLIGHT_CODE, DONE_CODE = 0, 1, 2
#: Versions this one brings up to date in place (the column it lacks is added, NULL for every item).
_UPGRADABLE = frozenset({"3"})

#: The journal's own columns of an item, before the op's.
_OWN_COLUMNS = ("line", "state", "outcome", "attempts", "key_hash")


def _schema(layout: Layout) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    transient INTEGER NOT NULL,
    UNIQUE (code, status, message, transient)
);
CREATE TABLE IF NOT EXISTS items (
    line INTEGER PRIMARY KEY,
    -- Not IN (0, 1, 2): SQLite builds an IN list's lookup table anew for every row a statement writes, which
    -- made this check half the cost of recording an item and a tenth of each state change.
    state INTEGER NOT NULL CHECK (state = 0 OR state = 1 OR state = 2),
    outcome INTEGER REFERENCES outcomes (id),
    attempts INTEGER NOT NULL,
    key_hash INTEGER,
    {", ".join(f"{name} TEXT" for name in layout.columns)}
);
-- Journals made before indexed every open row by (state, line): marking an item in flight moved its entry.
DROP INDEX IF EXISTS items_open;
CREATE INDEX IF NOT EXISTS items_in_flight ON items (line, state) WHERE state = 1;
CREATE VIEW IF NOT EXISTS items_readable AS
    SELECT line, CASE state WHEN 0 THEN 'pending' WHEN 1 THEN 'in_flight' ELSE 'done' END AS state,
           o.code, o.status, o.message, o.transient, attempts, {', '.join(layout.columns)}
    FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome;
"""


class JournalBusy(Exception):
    """Another run holds the journal."""


class JournalMismatch(ValueError):
    """The journal belongs to another input file or operation, or to a version this one cannot read."""


class InputChanged(JournalMismatch):
    """The input's content changed since its journal was made (same name and operation): a journal resumes only
    the rows it was made for, at the same lines. ``differ`` names what differs (``input_size``, ``input_sha256``)."""

    def __init__(self, message: str, differ: Sequence[str]) -> None:
        super().__init__(message)
        self.differ = tuple(differ)


def prepare(db: sqlite3.Connection, path: Path, layout: Layout) -> None:
    """Create the tables of a new journal, or bring an upgradable one up to date; refuse any other version, and
    item columns that are not ``layout``'s."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        found = None if row is None else row[0]
    if found in _UPGRADABLE:
        _upgrade(db, layout)
    elif found is not None and found != SCHEMA_VERSION:
        raise JournalMismatch(
            f"the journal {path} was written by another version (schema {found}, this one reads "
            f"{SCHEMA_VERSION}); finish it with that version, or use --journal to start a new journal"
        )
    db.executescript(_schema(layout))
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(items)"))
    if columns != (*_OWN_COLUMNS, *layout.columns):
        raise JournalMismatch(
            f"the journal {path} keeps other rows ({', '.join(columns[len(_OWN_COLUMNS):])}) than this backfill's "
            f"({', '.join(layout.columns)}); use --journal to start a new journal"
        )


def _upgrade(db: sqlite3.Connection, layout: Layout) -> None:
    """Schema 3 to 4 in one transaction: the note column, the view that shows it, the version."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if layout.note is not None:
            db.execute(f"ALTER TABLE items ADD COLUMN {layout.note} TEXT")
        db.execute("DROP VIEW IF EXISTS items_readable")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def exclusive(path: Path) -> IO[bytes]:
    """An exclusive lock on the journal file, held for the journal's life: two runs would send the same items."""
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise JournalBusy(f"another run is using the journal {path}; wait for it to end") from None
    return handle


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""

    __slots__ = ("_db", "_on_rollback")

    def __init__(self, db: sqlite3.Connection, on_rollback: Callable[[], None]) -> None:
        self._db = db
        self._on_rollback = on_rollback

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except BaseException:
                self._roll_back()
                raise
        self._roll_back()

    def _roll_back(self) -> None:
        self._on_rollback()
        if self._db.in_transaction:  # SQLite may already have rolled back (a full disk, a corrupt page)
            # The original error is the one to report; the transaction did not commit either way.
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
