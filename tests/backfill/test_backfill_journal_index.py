"""The journal's one index on items holds the rows in flight only: marking an item in flight adds its entry and
marking it done takes it out, nothing moves; pending rows are found by line from the lowest one that may be pending.
Every statement the runner repeats is an index search (never a walk over the done rows), rows put back to pending
are taken again, and a journal written with the earlier index (every open row by (state, line)) resumes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from zcrm_async import backfill

CONTACT, DEAL, OWNER = "5843104000000000001", "5843104000000000002", "5843104000000000003"
#: The index every journal had before this one, as its table's schema made it.
EARLIER_INDEX = "CREATE INDEX items_open ON items (state, line) WHERE state < 2"


def _rows(count: int, bad: set[int] = frozenset()) -> list[dict[str, str]]:  # type: ignore[assignment]
    return [
        {"contact_id": "bad" if n in bad else CONTACT, "message_id": f"m{n}", "deal_id": DEAL, "owner_id": OWNER}
        for n in range(count)
    ]


def _bound(path: Path, count: int, bad: set[int] = frozenset()) -> backfill.Journal:  # type: ignore[assignment]
    journal = backfill.Journal(path, backfill.EMAIL_LAYOUT)
    journal.bind(backfill.rows_source(backfill.LINK, _rows(count, bad), name="index"), "link")
    return journal


def _succeeded(items: list[backfill.JournalItem]) -> list[backfill.Outcome]:
    return [backfill.Outcome(item.line, "SUCCESS", "success", "ok", 1) for item in items]


def _indexes(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'"))


def _plans(journal: backfill.Journal, calls: Callable[[], object]) -> list[str]:
    """The query plan's steps on ``items`` of every statement ``calls`` runs."""
    traced: list[str] = []
    journal._db.set_trace_callback(traced.append)
    try:
        calls()
    finally:
        journal._db.set_trace_callback(None)
    statements = [sql for sql in traced if "items" in sql and not sql.startswith(("BEGIN", "COMMIT", "PRAGMA"))]
    steps = []
    for sql in statements:
        plan_of = sql.split(" RETURNING ")[0]  # the plan of an UPDATE is its WHERE's
        steps += [str(row[-1]) for row in journal._db.execute(f"EXPLAIN QUERY PLAN {plan_of}")]
    return [step for step in steps if step.startswith(("SEARCH items", "SCAN items"))]


def test_the_only_index_on_items_holds_the_rows_in_flight(tmp_path: Path) -> None:
    with _bound(tmp_path / "j.sqlite", 10) as journal:
        assert list(_indexes(journal._db)) == ["items_in_flight"]
        assert "WHERE state = 1" in _indexes(journal._db)["items_in_flight"]
        taken = journal.take_pending(4)
        # an entry a row in flight, none for the pending and the done rows
        (entries,) = journal._db.execute("SELECT COUNT(*) FROM items INDEXED BY items_in_flight WHERE state = 1")
        assert entries == (4,)
        journal.finish(_succeeded(taken[:3]))
        assert journal.in_flight_count() == 1
        assert journal.states() == {"pending": 6, "in_flight": 1, "done": 3}


def test_every_statement_a_run_repeats_is_an_index_search(tmp_path: Path) -> None:
    with _bound(tmp_path / "j.sqlite", 50, bad={3}) as journal:
        taken = journal.take_pending(10)

        def a_batch() -> None:
            journal.take_pending(10, finished=_succeeded(taken))
            journal.first_open_line()
            journal.in_flight(0, 5)
            journal.in_flight_count()

        steps = _plans(journal, a_batch)
        indexed = [step for step in steps if step.startswith("SEARCH items USING")]
        in_flight_only = [step for step in steps if step == "SCAN items USING COVERING INDEX items_in_flight"]
        assert steps and len(indexed) + len(in_flight_only) == len(steps), steps
        assert any("items_in_flight" in step for step in indexed) and any("PRIMARY KEY" in step for step in indexed)
        # states(): the pending rows are counted from the first one, those in flight in their index; only the
        # total is SQLite's count of the whole table
        counted = _plans(journal, journal.states)
        assert [step for step in counted if not step.startswith("SEARCH items USING")] == [
            "SCAN items USING COVERING INDEX items_in_flight", "SCAN items",
        ], counted  # fmt: skip


def _instructions(journal: backfill.Journal, call: Callable[[], object]) -> int:
    """SQLite's virtual machine instructions ``call`` runs, in hundreds."""
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    journal._db.set_progress_handler(step, 100)
    try:
        call()
    finally:
        journal._db.set_progress_handler(None, 100)
    return steps


def test_taking_a_batch_does_not_walk_the_rows_already_done(tmp_path: Path) -> None:
    with _bound(tmp_path / "j.sqlite", 3_000) as journal:
        batches: list[list[backfill.JournalItem]] = []
        first = _instructions(journal, lambda: batches.append(journal.take_pending(200)))
        journal.finish(_succeeded(batches.pop()))
        for _ in range(13):
            journal.finish(_succeeded(journal.take_pending(200)))
        later = _instructions(journal, lambda: batches.append(journal.take_pending(200)))  # 2,800 done before it
        assert [item.line for item in batches[-1]] == list(range(2_801, 3_001))
        # the same work as the first batch's: a walk over the done rows would take as much again
        assert later < first * 1.3, (first, later)


def test_rows_put_back_to_pending_anywhere_are_taken_again(tmp_path: Path) -> None:
    with _bound(tmp_path / "j.sqlite", 20, bad={5}) as journal:
        first = journal.take_pending(8)
        assert [item.line for item in first] == [1, 2, 3, 4, 5, 7, 8, 9]  # line 6 was refused
        journal.finish(_succeeded(first[1:]))
        journal.release([1])  # known not sent: pending again, below every line taken since
        second = journal.take_pending(5)
        assert [item.line for item in second] == [1, 10, 11, 12, 13]
        assert journal.first_open_line() == 1
        journal.finish([backfill.Outcome(1, "NOT_ALLOWED", "error", "not associated", 1)])
        journal.finish(_succeeded(second[1:] + journal.take_pending(100)))
        assert journal.take_pending(10) == [] and journal.first_open_line() is None
        assert journal.states() == {"done": 20}
        assert journal.retry_failed() == 1  # a final failure, sent again when asked
        assert journal.states() == {"pending": 1, "done": 19}
        assert [item.line for item in journal.take_pending(10)] == [1]


def test_a_resumed_journal_takes_its_first_pending_row_past_the_done_ones(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with _bound(path, 30) as journal:
        journal.finish(_succeeded(journal.take_pending(12)))
        stuck = journal.take_pending(3)  # in flight when the run was killed
    with _bound(path, 30) as journal:
        assert journal.first_open_line() == stuck[0].line
        assert journal.states() == {"pending": 15, "in_flight": 3, "done": 12}
        assert [item.line for item in journal.in_flight()] == [item.line for item in stuck]
        assert [item.line for item in journal.take_pending(4)] == [16, 17, 18, 19]


def test_a_journal_written_with_the_earlier_index_resumes_and_keeps_only_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with _bound(path, 30) as journal:
        journal.finish(_succeeded(journal.take_pending(10)))
        stuck = journal.take_pending(5)
    with sqlite3.connect(path) as old:  # as every journal of schema 3 and 4 before this one had it
        old.execute("DROP INDEX items_in_flight")
        old.execute(EARLIER_INDEX)
        assert list(_indexes(old)) == ["items_open"]
    with _bound(path, 30) as journal:
        assert list(_indexes(journal._db)) == ["items_in_flight"]
        assert [item.line for item in journal.in_flight()] == [item.line for item in stuck]
        journal.finish(_succeeded(stuck))
        assert [item.line for item in journal.take_pending(3)] == [16, 17, 18]
        assert journal.states() == {"pending": 12, "in_flight": 3, "done": 15}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
