"""What the journal's cheaper paths must keep: the input check without a link a row refuses exactly what the
library's own check of the links refuses; the failed rows are read alone and are every row that did not succeed;
the state column's check refuses what it refused; a journal written with the earlier check still resumes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from zcrm_async import backfill
from zcrm_async.emails import find_problems

CONTACT, DEAL, OWNER = "5843104000000000001", "5843104000000000002", "5843104000000000003"

#: Rows a file may hold: good ones, each field bad in each way the checks know, a row repeating an earlier good
#: one, a bad row repeating a good one's email, and a good row repeating a bad one's.
ROWS: list[dict[str, str]] = [
    {"contact_id": CONTACT, "message_id": "abc1", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "abc2", "deal_id": DEAL, "owner_id": OWNER, "deal_name": "Big deal"},
    {"contact_id": CONTACT, "message_id": "abc1", "deal_id": DEAL, "owner_id": OWNER},  # repeats row 0
    {"contact_id": "", "message_id": "abc3", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": "12a", "message_id": "abc4", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": "١٢٣", "message_id": "abc5", "deal_id": DEAL, "owner_id": OWNER},  # digits of another script
    {"contact_id": "1" * 31, "message_id": "abc6", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "a-b", "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "m" * 501, "deal_id": DEAL, "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "abc7", "deal_id": "x", "owner_id": OWNER},
    {"contact_id": CONTACT, "message_id": "abc8", "deal_id": DEAL, "owner_id": ""},
    {"contact_id": CONTACT, "message_id": "abc9", "deal_id": DEAL},  # no owner at all
    {"contact_id": CONTACT, "message_id": "abc10", "deal_id": DEAL, "owner_id": OWNER, "deal_name": "n" * 256},
    {"contact_id": CONTACT, "message_id": "abc11", "deal_id": DEAL, "owner_id": OWNER, "deal_name": "n" * 255},
    {"contact_id": CONTACT, "message_id": "abc2", "deal_id": "bad", "owner_id": OWNER},  # bad, and row 1's email
    {"contact_id": CONTACT, "message_id": "a-b", "deal_id": DEAL, "owner_id": ""},  # bad twice over, row 8's email
    {"contact_id": CONTACT, "message_id": "abc4", "deal_id": DEAL, "owner_id": OWNER},  # good; row 4 was bad
    {"contact_id": "5843104000000000009", "message_id": "abc1", "deal_id": DEAL, "owner_id": OWNER},  # other contact
    {"contact_id": CONTACT, "message_id": "abc12", "deal_id": DEAL, "owner_id": OWNER, "owner_name": "o" * 300},
]


@pytest.mark.parametrize("op", [backfill.LINK, backfill.RELINK], ids=["link", "relink"])
def test_the_input_check_refuses_exactly_what_the_librarys_check_of_the_links_refuses(
    op: backfill.EmailBackfill,
) -> None:
    expected = find_problems([op.item(fields) for fields in ROWS])
    assert op.problems(ROWS) == expected
    assert {problem.index for problem in expected} == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16}
    assert op.problems(ROWS[:2]) == [] and op.problems([]) == []


def _journal_with_outcomes(path: Path) -> backfill.Journal:
    rows = [{**ROWS[0], "message_id": f"m{n}"} for n in range(6)] + [{**ROWS[0], "contact_id": "bad"}]
    journal = backfill.Journal(path, backfill.EMAIL_LAYOUT)
    journal.bind(backfill.rows_source(backfill.LINK, rows, name="costs"), "link")  # line 7 is refused
    taken = journal.take_pending(6)
    journal.finish(
        [backfill.Outcome(item.line, "SUCCESS", "success", "ok", 1) for item in taken[:3]]
        + [backfill.Outcome(taken[3].line, "NOT_ALLOWED", "error", "not associated", 1)]
        + [backfill.Outcome(taken[4].line, "INTERNAL_ERROR", "error", "5xx", 3, transient=True)]
    )  # taken[5] stays in flight
    return journal


def test_the_unsuccessful_items_are_every_done_item_that_did_not_succeed_and_only_they(tmp_path: Path) -> None:
    with _journal_with_outcomes(tmp_path / "j.sqlite") as journal:
        everything = list(journal.items())
        expected = [item for item in everything if item.status is not None and item.status != "success"]
        assert [(item.line, item.code) for item in journal.unsuccessful()] == [
            (4, "NOT_ALLOWED"), (5, "INTERNAL_ERROR"), (7, "INVALID_ROW"),
        ]  # fmt: skip
        assert list(journal.unsuccessful()) == expected
        out = tmp_path / "failed.csv"
        assert backfill.write_failed_rows(out, journal) == 3
        assert out.read_text().splitlines()[1:] == [
            f"{CONTACT},m3,{DEAL},,{OWNER},", f"{CONTACT},m4,{DEAL},,{OWNER},", f"bad,abc1,{DEAL},,{OWNER},",
        ]  # fmt: skip


def test_a_journal_where_nothing_failed_reads_no_item_for_its_failed_rows(tmp_path: Path) -> None:
    rows = [{**ROWS[0], "message_id": f"m{n}"} for n in range(3)]
    with backfill.Journal(tmp_path / "j.sqlite", backfill.EMAIL_LAYOUT) as journal:
        journal.bind(backfill.rows_source(backfill.LINK, rows, name="ok"), "link")
        journal.finish([backfill.Outcome(item.line, "SUCCESS", "success", "ok", 1) for item in journal.take_pending(3)])
        statements: list[str] = []
        journal._db.set_trace_callback(statements.append)
        assert backfill.write_failed_rows(tmp_path / "failed.csv", journal) == 0
        journal._db.set_trace_callback(None)
    assert not (tmp_path / "failed.csv").exists()
    assert not [sql for sql in statements if "FROM items" in sql], statements


@pytest.mark.parametrize("state", [3, -1, 1.5, "1x"])
def test_the_state_column_still_refuses_anything_but_pending_in_flight_and_done(tmp_path: Path, state: object) -> None:
    with _journal_with_outcomes(tmp_path / "j.sqlite") as journal:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            journal._db.execute("UPDATE items SET state = ? WHERE line = 6", (state,))
        journal._db.execute("UPDATE items SET state = ? WHERE line = 6", ("1",))  # as an integer: allowed


def test_a_journal_written_with_the_earlier_state_check_resumes(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    _journal_with_outcomes(db).close()
    with sqlite3.connect(db) as old:  # the table as every journal before this check was made
        (sql,) = old.execute("SELECT sql FROM sqlite_master WHERE name = 'items'").fetchone()
        earlier = sql.replace("CHECK (state = 0 OR state = 1 OR state = 2)", "CHECK (state IN (0, 1, 2))")
        assert earlier != sql
        old.execute("PRAGMA writable_schema = ON")
        old.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'items'", (earlier,))
    with backfill.Journal(db, backfill.EMAIL_LAYOUT) as journal:
        rows = [{**ROWS[0], "message_id": f"m{n}"} for n in range(6)] + [{**ROWS[0], "contact_id": "bad"}]
        assert journal.bind(backfill.rows_source(backfill.LINK, rows, name="costs"), "link") is False
        assert [item.line for item in journal.in_flight()] == [6]
        journal.finish([backfill.Outcome(6, "SUCCESS", "success", "ok", 1)])
        assert journal.states() == {"done": 7}
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            journal._db.execute("UPDATE items SET state = 3 WHERE line = 2")


def test_the_report_line_of_each_item_is_its_journal_row_with_the_note_only_where_written(tmp_path: Path) -> None:
    # Built by SQLite without json_patch: the same object, key for key and in the same order, for any text.
    odd = {**ROWS[0], "message_id": "q1", "deal_name": 'a "quoted" \\ name, é 日本 \t tab', "owner_name": "Ö'Brien"}
    rows = [odd] + [{**ROWS[0], "message_id": f"m{n}"} for n in range(5)] + [{**ROWS[0], "contact_id": "bad"}]
    with backfill.Journal(tmp_path / "j.sqlite", backfill.EMAIL_LAYOUT) as journal:
        journal.bind(backfill.rows_source(backfill.RELINK, rows, name="report"), "relink")
        taken = journal.take_pending(4)
        journal.remember([(taken[1].line, "5843104000000000099")])
        journal.finish([backfill.Outcome(item.line, "SUCCESS", "success", "linked ✓", 1) for item in taken[:3]])
        report = tmp_path / "report.jsonl"
        assert backfill.write_report(report, journal) == 7
        expected = []
        for item in journal.items():
            line = {"line": item.line, **{name: item.fields.get(name) for name in backfill.EMAIL_LAYOUT.fields}}
            line |= {"code": item.code, "attempts": item.attempts, "message": item.message}
            line["status"] = item.status if item.state == "done" else item.state
            if item.note is not None:
                line["previous_deal_id"] = item.note
            expected.append(line)
    written = [json.loads(text) for text in report.read_text(encoding="utf-8").splitlines()]
    assert written == expected
    keys = ["line", *backfill.EMAIL_LAYOUT.fields, "code", "status", "message", "attempts"]
    assert [list(line) for line in written] == [keys + ["previous_deal_id"] * (n == 1) for n in range(7)]
    assert written[0]["deal_name"] == odd["deal_name"] and written[3]["status"] == "in_flight"
    assert written[4]["status"] == "pending" and written[6]["code"] == "INVALID_ROW"


class _Rows:
    """A source of the rows given as they are (a service's own: any keys, None values)."""

    name, size, sha256 = "shapes", 1, "0" * 64

    def __init__(self, rows: list[backfill.Row]) -> None:
        self._rows = rows

    def rows(self, after_line: int = 0) -> Iterator[backfill.Row]:
        return (row for row in self._rows if row.line > after_line)


def test_each_row_is_recorded_with_exactly_the_fields_it_has_whatever_their_mix(tmp_path: Path) -> None:
    # Each insert names only the columns a row has a value for: rows of every shape, in any order, come back as given.
    base = {"contact_id": CONTACT, "deal_id": DEAL, "owner_id": OWNER}
    given = [
        {**base, "message_id": "m1"},
        {**base, "message_id": "m2", "deal_name": "Big", "owner_name": ""},
        {"message_id": "m3", **base, "owner_name": "Ann"},  # another key order
        {**base, "message_id": "m4", "deal_name": None},  # None: as absent
        {"message_id": "m5"},
        {**base, "message_id": "m6", "unknown": "dropped"},
        {},
    ]
    rows = [backfill.Row(n + 1, fields, "line 5: bad" if n == 4 else None) for n, fields in enumerate(given)]
    with backfill.Journal(tmp_path / "j.sqlite", backfill.EMAIL_LAYOUT) as journal:
        journal.bind(_Rows(rows), "link")
        items = list(journal.items())
        (hashed,) = journal._db.execute("SELECT COUNT(*) FROM items WHERE key_hash IS NOT NULL").fetchone()
    expected = [
        {name: value for name, value in fields.items() if value is not None and name in backfill.EMAIL_LAYOUT.fields}
        for fields in given
    ]
    assert [item.fields for item in items] == expected
    assert [item.state for item in items] == ["pending"] * 4 + ["done"] + ["pending"] * 2
    assert items[4].code == "INVALID_ROW" and items[4].message == "line 5: bad" and items[0].code is None
    assert hashed == 6  # every pending row's key is hashed, the refused row's is not
