"""The journal's file: one run's lock on it, its tables (and bringing those of an earlier version up to date),
and its transactions. ``_journal`` says what each column buys.

Schema 4 adds ``items.previous_deal_id``: the deal a relink found an email on, committed before its unlink can be
sent, so that a run stopped before the email is linked again can put it back (NULL, 0 bytes, everywhere else).
A schema 3 journal gains the column in place and resumes; any other version is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ._input import FIELDS

__all__ = ["COLUMNS", "SCHEMA_VERSION", "JournalBusy", "JournalMismatch", "Transaction", "exclusive", "prepare"]

SCHEMA_VERSION = "4"
#: Versions this one brings up to date in place (the column it lacks is added, NULL for every item).
_UPGRADABLE = frozenset({"3"})

COLUMNS = ", ".join(FIELDS)
_SCHEMA = f"""
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
    state INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    outcome INTEGER REFERENCES outcomes (id),
    attempts INTEGER NOT NULL,
    key_hash INTEGER,
    {", ".join(f"{name} TEXT" for name in FIELDS)},
    previous_deal_id TEXT
);
CREATE INDEX IF NOT EXISTS items_key ON items (key_hash) WHERE key_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_open ON items (state, line) WHERE state < 2;
CREATE VIEW IF NOT EXISTS items_readable AS
    SELECT line, CASE state WHEN 0 THEN 'pending' WHEN 1 THEN 'in_flight' ELSE 'done' END AS state,
           o.code, o.status, o.message, o.transient, attempts, {COLUMNS}, previous_deal_id
    FROM items LEFT JOIN outcomes AS o ON o.id = items.outcome;
"""


class JournalBusy(Exception):
    """Another run holds the journal."""


class JournalMismatch(ValueError):
    """The journal belongs to another input file or operation, or to a version this one cannot read."""


def prepare(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables of a new journal, or bring an upgradable one up to date; refuse any other version."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = None
    if "meta" in tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        found = None if row is None else row[0]
    if found in _UPGRADABLE:
        _upgrade(db)
    elif found is not None and found != SCHEMA_VERSION:
        raise JournalMismatch(
            f"the journal {path} was written by another version (schema {found}, this one reads "
            f"{SCHEMA_VERSION}); finish it with that version, or use --journal to start a new journal"
        )
    db.executescript(_SCHEMA)


def _upgrade(db: sqlite3.Connection) -> None:
    """Schema 3 to 4 in one transaction: the column, the view that shows it, the version."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE items ADD COLUMN previous_deal_id TEXT")
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
