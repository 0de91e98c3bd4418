"""Reading a journal another process is writing (the kill tests): counts a busy file cannot fake, and waits that
wake on the journal's own commits or the writer's end rather than on a clock.

A read-only reader of a WAL database can find it busy for a moment: while the writer recovers the WAL a killed run
left, or checkpoints it at its close. Read as "no rows", that moment made a kill test see no progress (or take a
fresh journal's count for a resumed one's); here it is waited out, and only a missing file or schema reads as None.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: How long a journal may stay busy before the read fails (the writer's busy moments last milliseconds).
BUSY_WITHIN = 10.0
#: The longest the journal may go without a write while a wait holds, before it fails: a stalled writer, not a
#: slow one (a loaded machine slows each step, it does not stop them all for a minute).
QUIET_WITHIN = 60.0
#: How often a wait looks at the journal's files (a stat each, cheap) and at the writer's exit.
LOOK_EVERY = 0.02
#: A condition is read again at least this often even when the files look unchanged (a commit within the
#: file system's timestamp granularity that leaves the WAL's size as it was).
READ_AT_LEAST_EVERY = 1.0

_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN")


def read_journal(journal: Path, query: str) -> list[tuple[Any, ...]] | None:
    """The rows ``query`` reads from the journal as last committed; None while there is no file or no schema yet.

    Read-only, with SQLite's busy timeout, and tried again while the file stays busy (up to ``BUSY_WITHIN``).
    """
    deadline = time.monotonic() + BUSY_WITHIN
    while True:
        if not journal.exists():
            return None
        try:
            uri = f"{journal.resolve().as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_WITHIN)) as db:
                return db.execute(query).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None  # the writer has made the file, not yet its tables
            if not str(getattr(exc, "sqlite_errorname", "")).startswith(_BUSY) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def count_done(journal: Path) -> int:
    """Rows the journal holds as done (final: state 2, ``items_readable``'s 'done'), 0 before it has any."""
    rows = read_journal(journal, "SELECT COUNT(*) FROM items WHERE state = 2")
    return int(rows[0][0]) if rows else 0


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[Any], journal: Path, what: str) -> None:
    """Return once ``condition()`` holds or ``proc`` has ended, whichever comes first.

    Wakes on the writer's exit (``proc.wait``) and reads the condition again when the journal's files changed
    (a commit), so it neither sleeps past the event nor queries SQLite in a loop. Fails only when the journal
    has gone ``QUIET_WITHIN`` seconds without a single write while the process lives.
    """
    stamp, quiet_since, last_read = _stamp(journal), time.monotonic(), time.monotonic()
    if condition():
        return
    while True:
        try:
            proc.wait(timeout=LOOK_EVERY)
            return  # ended: the caller reads what it left
        except subprocess.TimeoutExpired:
            pass
        now, current = time.monotonic(), _stamp(journal)
        if current != stamp:
            stamp, quiet_since = current, now
        else:
            assert now - quiet_since < QUIET_WITHIN, f"{what}: the journal had no write in {QUIET_WITHIN:.0f} s"
            if now - last_read < READ_AT_LEAST_EVERY:
                continue
        last_read = now
        if condition():
            return


def wait_or_end(proc: subprocess.Popen[Any], seconds: float) -> None:
    """Let ``proc`` run ``seconds`` more (a kill's random moment), returning at once if it ends first."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=seconds)


def _stamp(journal: Path) -> tuple[tuple[int, int] | None, ...]:
    """The journal's and its WAL's (modified, size): what a commit changes."""
    return tuple(_file_stamp(journal.with_name(journal.name + suffix)) for suffix in ("", "-wal"))


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size
