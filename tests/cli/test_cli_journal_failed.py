"""``zcrm-async journal failed JOURNAL``: a backfill's failed rows from its journal alone, as the messages that
point to it say (a run without --report, an input edited since), through the real CLI as a subprocess."""

from __future__ import annotations

import contextlib
import csv
import sqlite3
from pathlib import Path

from tests.cli.first_day import asked_nothing, cli, one_line, pointed_at
from tests.cli.test_cli_first_day_failed import NO_SUCH_DEAL
from tests.cli_helpers import make_world, write_csv
from zcrm_async import backfill
from zcrm_async.testing import FakeZoho


def _message_ids(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as rows:
        return [row["message_id"] for row in csv.DictReader(rows)]


def test_an_edited_input_points_to_its_failed_rows_and_they_run_on_their_own(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=3, emails=10)
    deals = {row["message_id"]: row["deal_id"] for row in rows}
    for row in rows[:22]:
        row["deal_id"] = NO_SUCH_DEAL
    path = write_csv(tmp_path / "links.csv", rows)
    journal = tmp_path / "links.csv.journal.sqlite"
    first = cli("backfill", "link", str(path), *pointed_at(url, fake))  # no --report: no failed.csv was written
    assert first.returncode == 1
    assert f"or zcrm-async journal failed {journal} for the failed rows alone" in first.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["links.csv", journal.name]

    write_csv(path, rows[1:])  # edited: the journal refuses it, and says where its failed rows can come from
    edited = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert edited.returncode == 2
    failed_csv = tmp_path / "links.csv.journal.failed.csv"
    said = one_line(edited)
    assert f"zcrm-async journal failed {journal} writes the earlier run's failed rows to {failed_csv}" in said

    requests_before = dict(fake.stats.requests)
    written = cli("journal", "failed", str(journal))
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == (
        f"the 22 rows that failed are in {failed_csv}: fix them and run zcrm-async backfill link {failed_csv}"
    )
    assert fake.stats.requests == requests_before  # nothing sent, no credentials needed
    assert _message_ids(failed_csv) == [row["message_id"] for row in rows[:22]]

    # Fixed (each row its contact's own deal, as make_world made them), the failed rows run on their own.
    with failed_csv.open(newline="", encoding="utf-8") as source:
        failed = list(csv.DictReader(source))
    for row in failed:
        row["deal_id"] = deals[row["message_id"]]
    write_csv(failed_csv, failed, list(failed[0]))
    again = cli("backfill", "link", str(failed_csv), *pointed_at(url, fake))
    assert again.returncode == 0, again.stderr
    assert all(fake.link_of(row["message_id"]) == deals[row["message_id"]] for row in rows)


def test_out_names_the_file_and_a_run_with_nothing_failed_writes_none(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=2, emails=3)
    rows[0]["deal_id"] = NO_SUCH_DEAL
    path = write_csv(tmp_path / "links.csv", rows)
    journal = tmp_path / "links.csv.journal.sqlite"
    assert cli("backfill", "link", str(path), *pointed_at(url, fake)).returncode == 1
    out = tmp_path / "to-fix.csv"
    assert cli("journal", "failed", str(journal), "--out", str(out)).returncode == 0
    assert _message_ids(out) == [rows[0]["message_id"]]
    assert not (tmp_path / "links.csv.journal.failed.csv").exists()

    clean = write_csv(tmp_path / "clean.csv", rows[1:])
    assert cli("backfill", "link", str(clean), *pointed_at(url, fake)).returncode == 0
    none = cli("journal", "failed", str(tmp_path / "clean.csv.journal.sqlite"))
    assert none.returncode == 0
    assert none.stdout.strip() == f"no row of {tmp_path / 'clean.csv.journal.sqlite'} failed: nothing written"
    assert not (tmp_path / "clean.csv.journal.failed.csv").exists()

    overwrite = cli("journal", "failed", str(journal), "--out", str(journal))
    assert overwrite.returncode == 2
    assert "is the journal: it would be overwritten" in one_line(overwrite)


def test_what_is_not_a_backfill_journal_is_refused_and_left_as_it_was(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, _ = served
    missing = cli("journal", "failed", str(tmp_path / "nowhere.journal.sqlite"))
    assert missing.returncode == 2 and "no journal at" in one_line(missing)
    assert not (tmp_path / "nowhere.journal.sqlite").exists()

    text = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    before = text.read_bytes()
    not_one = cli("journal", "failed", str(text))
    assert not_one.returncode == 2 and "is not a backfill's journal" in one_line(not_one)
    assert text.read_bytes() == before

    records = tmp_path / "people.csv.journal.sqlite"  # a records import's journal keeps its columns lower-cased
    with contextlib.closing(sqlite3.connect(records)) as db, db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('operation', 'records.insert:Contacts:Email:')")
    refused = cli("journal", "failed", str(records))
    assert refused.returncode == 2 and "is a records import's journal" in one_line(refused)
    assert asked_nothing(fake)  # none of it connected


def test_a_journal_a_run_holds_is_not_read(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=2))
    assert cli("backfill", "link", str(path), *pointed_at(url, fake)).returncode == 0
    journal = tmp_path / "links.csv.journal.sqlite"
    with backfill.Journal(journal, backfill.EMAIL_LAYOUT):  # as a run going on holds it
        held = cli("journal", "failed", str(journal))
    assert held.returncode == 2 and "another run is using the journal" in one_line(held)
