"""The SQLite journal: bound to one file and operation; pending -> in_flight (committed) -> done."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

# private on purpose: the journal's batch size and key hash (recording the input), patched to cross a batch and to
# collide keys
import zcrm_async.backfill._journal_ingest as journal_module
from zcrm_async.backfill import EMAIL_LAYOUT, Journal, JournalMismatch, Outcome, Report

# private on purpose: the CLI's file reader and operations, to bind a journal to a real file as the command does
from zcrm_async.cli._input import Row, open_input, read_input
from zcrm_async.cli._operations import LINK, OPERATIONS, RELINK


def _source(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "in.csv"
    path.write_text(
        "contact_id,message_id,deal_id,owner_id\n111,aaa1,222,333\n111,aaa2,222,333\nbad,aaa3,222,333\n" + extra
    )
    return path


def test_rows_are_recorded_when_read_and_bad_rows_are_final(tmp_path: Path) -> None:
    path = _source(tmp_path)
    with Journal(tmp_path / "j.sqlite", EMAIL_LAYOUT) as journal:
        assert journal.bind(read_input(path, LINK), "link") is True
        assert journal.states() == {"pending": 2, "done": 1}
        assert journal.outcomes() == {("INVALID_ROW", "error"): 1}
        mode = journal._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_in_flight_is_committed_before_items_are_handed_out(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
        taken = journal.take_pending(1)
        assert [item.line for item in taken] == [2]
        # Another connection (a later process) already sees the mark.
        other = sqlite3.connect(db)
        assert other.execute("SELECT state FROM items_readable WHERE line = 2").fetchone() == ("in_flight",)
        other.close()
        assert journal.finish([Outcome(2, "SUCCESS", "success", "", 1)]) == 1
        assert journal.finish([Outcome(2, "SUCCESS", "success", "", 1)]) == 0  # done is final
        again = journal.take_pending(10)
        assert [item.line for item in again] == [3]
        journal.release([3], attempts=1)
        assert journal.states() == {"done": 2, "pending": 1}


def test_the_last_batch_is_recorded_in_the_commit_that_takes_the_next(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
        first = journal.take_pending(1)
        answered = [Outcome(item.line, "SUCCESS", "success", "", 1) for item in first]
        second = journal.take_pending(1, finished=answered)
        assert [item.line for item in second] == [3]
        other = sqlite3.connect(db)  # a later process sees both: the first done, the second in flight
        states = dict(other.execute("SELECT line, state FROM items_readable WHERE line IN (2, 3)").fetchall())
        other.close()
        assert states == {2: "done", 3: "in_flight"}
        # Outcomes of several kinds in one call: each item gets its own code and attempts.
        journal.take_pending(1, finished=[Outcome(3, "NOT_ALLOWED", "error", "no", 2)])
        done = {item.line: (item.code, item.attempts) for item in journal.items() if item.state == "done"}
        assert done[2] == ("SUCCESS", 1) and done[3] == ("NOT_ALLOWED", 2)


def test_a_resume_finds_the_same_state(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
        journal.take_pending(5)
    with Journal(db, EMAIL_LAYOUT) as journal:
        assert journal.bind(read_input(path, LINK), "link") is False
        assert [item.line for item in journal.in_flight()] == [2, 3]


def test_another_file_or_operation_is_refused(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
    with Journal(db, EMAIL_LAYOUT) as journal, pytest.raises(JournalMismatch, match="operation"):
        journal.bind(read_input(path, RELINK), "relink")
    _source(tmp_path, "111,aaa4,222,333\n")
    with Journal(db, EMAIL_LAYOUT) as journal, pytest.raises(JournalMismatch, match="input_sha256"):
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


def _many(tmp_path: Path, rows: int, repeat_every: int = 0) -> Path:
    """A CSV of ``rows`` rows; with ``repeat_every``, every such row repeats the first row's email."""
    lines = ["contact_id,message_id,deal_id,owner_id"]
    for n in range(rows):
        repeat = repeat_every and n and n % repeat_every == 0
        lines.append("100,aaa0,222,333" if repeat else f"{100 + n % 7},aaa{n},222,333")
    path = tmp_path / "many.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rows_are_recorded_in_batches_and_repeats_across_batches_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "INGEST_BATCH", 10)
    path = _many(tmp_path, 95, repeat_every=30)  # lines 32, 62 and 92 repeat line 2, batches later
    with Journal(tmp_path / "j.sqlite", EMAIL_LAYOUT) as journal:
        journal.bind(open_input(path, LINK), "link")
        refused = journal.refused(10)
        assert refused.count == 3
        assert [line for line, _ in refused.first] == [32, 62, 92]
        assert all("duplicates line 2" in message for _, message in refused.first)
        assert journal.states() == {"pending": 92, "done": 3}


def test_a_hash_collision_is_not_taken_for_a_repeat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_module, "INGEST_BATCH", 7)
    monkeypatch.setattr(journal_module, "_key_hash", lambda contact_id, message_id: 42)  # every email collides
    path = _many(tmp_path, 40, repeat_every=25)
    with Journal(tmp_path / "j.sqlite", EMAIL_LAYOUT) as journal:
        journal.bind(open_input(path, LINK), "link")
        assert journal.refused(5).count == 1  # line 27 repeats line 2; the 38 others only share the hash
        assert journal.states() == {"pending": 39, "done": 1}


def test_a_run_killed_while_reading_continues_after_the_last_recorded_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "INGEST_BATCH", 10)
    path = _many(tmp_path, 55, repeat_every=20)
    source = open_input(path, LINK)

    class Killed(Exception):
        pass

    @dataclasses.dataclass
    class DiesWhileRead:
        path: Path = source.path
        name: str = source.name
        size: int = source.size
        sha256: str = source.sha256

        def rows(self, after_line: int = 0) -> Iterator[Row]:
            for row in source.rows(after_line):
                if row.line > 26:
                    raise Killed
                yield row

    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal, pytest.raises(Killed):
        journal.bind(DiesWhileRead(), "link")
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT MAX(line) FROM items").fetchone() == (21,)  # two whole batches committed
    with Journal(db, EMAIL_LAYOUT) as journal:
        assert journal.bind(source, "link") is False
        with sqlite3.connect(db) as raw:
            lines = [line for (line,) in raw.execute("SELECT line FROM items ORDER BY line")]
        assert lines == list(range(2, 57))
        assert [line for line, _ in journal.refused(5).first] == [22, 42]  # the repeat in the second read too


def test_the_report_catches_up_only_to_the_first_unfinished_line(tmp_path: Path) -> None:
    path = _many(tmp_path, 6)
    report_path = tmp_path / "report.jsonl"
    with Journal(tmp_path / "j.sqlite", EMAIL_LAYOUT) as journal:
        journal.bind(open_input(path, LINK), "link")
        taken = journal.take_pending(4)  # lines 2-5
        journal.finish([Outcome(item.line, "SUCCESS", "success", "ok", 1) for item in taken if item.line != 3])
        report = Report(report_path, journal)
        report.catch_up()
        assert [json.loads(line)["line"] for line in report_path.read_text().splitlines()] == [2]
        journal.finish([Outcome(3, "SUCCESS", "success", "ok", 1)])
        report.catch_up()
        assert [json.loads(line)["line"] for line in report_path.read_text().splitlines()] == [2, 3, 4, 5]
        assert report.close() == 6
        lines = [json.loads(line) for line in report_path.read_text().splitlines()]
        tail = [(line["line"], line["status"]) for line in lines[3:]]
        assert tail == [(5, "success"), (6, "pending"), (7, "pending")]
        assert lines[0] == {"line": 2, "contact_id": "100", "message_id": "aaa0", "deal_id": "222", "deal_name": None,
                            "owner_id": "333", "owner_name": None, "code": "SUCCESS", "status": "success",
                            "message": "ok", "attempts": 1}  # fmt: skip


def test_the_lowest_open_line_is_an_index_seek_not_a_walk_over_done_rows(tmp_path: Path) -> None:
    # The runner asks after every batch; a walk over the done rows made a 1,000,000-item run quadratic.
    path = tmp_path / "many.csv"
    path.write_text("contact_id,message_id,deal_id,owner_id\n" + "".join(f"111,m{n},222,333\n" for n in range(5_000)))
    with Journal(tmp_path / "j.sqlite", EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
        while len(taken := journal.take_pending(200)) == 200 and taken[-1].line < 4_900:
            journal.finish([Outcome(item.line, "SUCCESS", "success", "ok", 1) for item in taken])
        traced: list[str] = []
        steps = 0

        def step() -> int:
            nonlocal steps
            steps += 1
            return 0

        journal._db.set_trace_callback(traced.append)
        journal._db.set_progress_handler(step, 1)
        assert journal.first_open_line() == taken[0].line
        journal._db.set_progress_handler(None, 1)
        journal._db.set_trace_callback(None)
        plans = [journal._db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall() for sql in traced]
    assert steps < 200, steps  # a walk over the 4,800 done rows takes several steps a row
    details = [str(step[-1]) for plan in plans for step in plan if str(step[-1]).startswith(("SEARCH", "SCAN"))]
    assert details and all(d.startswith("SEARCH items USING") for d in details), details


def test_the_deal_a_relink_took_an_email_off_is_committed_and_handed_to_the_next_run(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, RELINK), "relink")
        taken = journal.take_pending(2)
        journal.remember_previous([(taken[0].line, "444")])
        other = sqlite3.connect(db)  # a later process sees it at once: it was committed before the unlink
        assert other.execute("SELECT previous_deal_id FROM items_readable WHERE line = 2").fetchone() == ("444",)
        other.close()
    with Journal(db, EMAIL_LAYOUT) as journal:  # the run was killed: the next one reads the item back with its old deal
        stuck = journal.in_flight()
        assert [(item.line, item.previous_deal_id) for item in stuck] == [(2, "444"), (3, None)]
        item = RELINK.item(stuck[0].fields, stuck[0].previous_deal_id)
        assert item.previous_deal_id == "444"  # type: ignore[union-attr]
        journal.release([2, 3])
        assert [item.previous_deal_id for item in journal.take_pending(2)] == ["444", None]
        journal.finish([Outcome(2, "NOT_ALLOWED", "error", "refused", 1), Outcome(3, "NOT_ALLOWED", "error", "x", 1)])
        assert journal.moved_off_a_deal("NOT_ALLOWED") == (1, 0)
        report = tmp_path / "report.jsonl"
        Report(report, journal).close()
        lines = [json.loads(line) for line in report.read_text().splitlines()]
        assert lines[0]["previous_deal_id"] == "444" and "previous_deal_id" not in lines[1]


def test_a_journal_of_schema_3_gains_the_column_and_resumes(tmp_path: Path) -> None:
    path = _source(tmp_path)
    db = tmp_path / "j.sqlite"
    with Journal(db, EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, RELINK), "relink")
        journal.take_pending(1)
    with sqlite3.connect(db) as old:  # as the previous version left it
        old.execute("DROP VIEW items_readable")
        old.execute("ALTER TABLE items DROP COLUMN previous_deal_id")
        old.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with Journal(db, EMAIL_LAYOUT) as journal:
        assert journal.bind(open_input(path, RELINK), "relink") is False  # a resume, not a mismatch
        assert [(item.line, item.previous_deal_id) for item in journal.in_flight()] == [(2, None)]
        journal.remember_previous([(2, "444")])
        assert journal.states() == {"in_flight": 1, "pending": 1, "done": 1}
    with sqlite3.connect(db) as upgraded:
        assert upgraded.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
        assert upgraded.execute("SELECT previous_deal_id FROM items_readable WHERE line = 2").fetchone() == ("444",)
    with sqlite3.connect(db) as newer:
        newer.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(JournalMismatch, match="schema 9"):
        Journal(db, EMAIL_LAYOUT)
