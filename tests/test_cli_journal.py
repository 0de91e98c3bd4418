"""The SQLite journal: bound to one file and operation; pending -> in_flight (committed) -> done."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zcrm_async.cli._input import read_input
from zcrm_async.cli._journal import Journal, JournalMismatch, Outcome
from zcrm_async.cli._operations import LINK, OPERATIONS, RELINK


def _source(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "in.csv"
    path.write_text(
        "contact_id,message_id,deal_id,owner_id\n111,aaa1,222,333\n111,aaa2,222,333\nbad,aaa3,222,333\n" + extra
    )
    return path


def test_rows_are_recorded_when_read_and_bad_rows_are_final(tmp_path: Path) -> None:
    path = _source(tmp_path)
    with Journal(tmp_path / "j.sqlite") as journal:
        assert journal.bind(read_input(path, LINK), "link") is True
        assert journal.states() == {"pending": 2, "done": 1}
        assert journal.outcomes() == {("INVALID_ROW", "error"): 1}
        mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_in_flight_is_committed_before_items_are_handed_out(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db) as journal:
        journal.bind(read_input(path, LINK), "link")
        taken = journal.take_pending(1)
        assert [item.line for item in taken] == [2]
        # Another connection (a later process) already sees the mark.
        other = sqlite3.connect(db)
        assert other.execute("SELECT state FROM items WHERE line = 2").fetchone() == ("in_flight",)
        other.close()
        assert journal.finish([Outcome(2, "SUCCESS", "success", "", 1)]) == 1
        assert journal.finish([Outcome(2, "SUCCESS", "success", "", 1)]) == 0  # done is final
        again = journal.take_pending(10)
        assert [item.line for item in again] == [3]
        journal.release([3], attempts=1)
        assert journal.states() == {"done": 2, "pending": 1}


def test_a_resume_finds_the_same_state(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db) as journal:
        journal.bind(read_input(path, LINK), "link")
        journal.take_pending(5)
    with Journal(db) as journal:
        assert journal.bind(read_input(path, LINK), "link") is False
        assert [item.line for item in journal.in_flight()] == [2, 3]


def test_another_file_or_operation_is_refused(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db) as journal:
        journal.bind(read_input(path, LINK), "link")
    with Journal(db) as journal, pytest.raises(JournalMismatch, match="operation"):
        journal.bind(read_input(path, RELINK), "relink")
    _source(tmp_path, "111,aaa4,222,333\n")
    with Journal(db) as journal, pytest.raises(JournalMismatch, match="input_sha256"):
        journal.bind(read_input(path, LINK), "link")


@pytest.mark.parametrize(
    ("operation", "linked", "expected"),
    [
        ("link", "222", "SUCCESS"),
        ("link", "999", "ALREADY_LINKED"),  # linked elsewhere before the run: sending again would say so
        ("link", None, None),  # not applied: send it
        ("relink", "222", "SUCCESS"),
        ("relink", "999", None),  # relink converges from any state: send it
        ("relink", None, None),
        ("unlink", None, "SUCCESS"),
        ("unlink", "222", None),
    ],
)
def test_reading_an_in_flight_email_back_decides_it(operation: str, linked: str | None, expected: str | None) -> None:
    decided = OPERATIONS[operation].settled("222", linked)
    assert (decided[0] if decided else None) == expected
