"""A partial failure names its rows, and they can be run on their own; an edited file says it changed
(issue 19, points 3 and 8)."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.first_day import cli, one_line, pointed_at
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeZoho

NO_SUCH_DEAL = "5843104000000000001"


def _rows_with_failures(fake: FakeZoho, failing: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    rows = make_world(fake, contacts=3, emails=10)
    for row in rows[:failing]:
        row["deal_id"] = NO_SUCH_DEAL
    return rows, [dict(row) for row in rows[:failing]]


def test_failed_items_are_named_by_line_and_the_rest_are_in_the_report(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows, bad = _rows_with_failures(fake, failing=25)
    path = write_csv(tmp_path / "links.csv", rows)
    report = tmp_path / "report.jsonl"
    result = cli("backfill", "link", str(path), "--report", str(report), *pointed_at(url, fake))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert "25 items failed:" in lines
    named = [line for line in lines if line.startswith("  line ")]
    assert len(named) == 20 and named[0].startswith("  line 2: ")
    assert f"  ... and 5 more in {report}" in lines
    failed_csv = tmp_path / "report.failed.csv"
    assert f"the 25 rows that failed are in {failed_csv}: fix them and run zcrm-async backfill link {failed_csv}" \
        in result.stderr  # fmt: skip
    with failed_csv.open(newline="") as rows_file:
        written = list(csv.DictReader(rows_file))
    assert [row["message_id"] for row in written] == [row["message_id"] for row in bad]


def test_without_a_report_it_says_how_to_get_one(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    rows, _ = _rows_with_failures(fake, failing=21)
    path = write_csv(tmp_path / "links.csv", rows)
    result = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert result.returncode == 1
    assert "  ... and 1 more in a report: run the same command with --report FILE" in result.stderr


def test_the_failed_rows_fixed_run_on_their_own(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    rows, _ = _rows_with_failures(fake, failing=2)
    path = write_csv(tmp_path / "links.csv", rows)
    report = tmp_path / "report.jsonl"
    assert cli("backfill", "link", str(path), "--report", str(report), *pointed_at(url, fake)).returncode == 1
    failed_csv = tmp_path / "report.failed.csv"
    text = failed_csv.read_text()
    assert text.count(NO_SUCH_DEAL) == 2
    # The contacts' own deal is the fix (make_world gave each contact one).
    fixed = text.replace(NO_SUCH_DEAL, rows[2]["deal_id"])
    failed_csv.write_text(fixed)
    again = cli("backfill", "link", str(failed_csv), *pointed_at(url, fake))
    assert again.returncode == 0, again.stderr
    assert all(fake.link_of(row["message_id"]) is not None for row in rows)


def test_an_edited_file_says_it_changed_since_its_journal(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=2)
    path = write_csv(tmp_path / "links.csv", rows)
    assert cli("backfill", "link", str(path), *pointed_at(url, fake)).returncode == 0
    write_csv(path, rows[:1])
    result = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith(f"zcrm-async: error: {path} changed since its journal {path}.journal.sqlite was made")
    assert "--journal NEW" in line and "belongs to another run" not in line
