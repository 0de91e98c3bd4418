"""--dry-run reads the journal as the run would, and shows the bodies the run sends (issue 19, point 7)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.first_day import cli, one_line, pointed_at
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeZoho


def test_a_dry_run_after_the_run_sends_nothing_again(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=2, emails=3)
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        assert cli("backfill", "link", str(path), *pointed_at(url, fake)).returncode == 0
    dry = cli("backfill", "link", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "the journal holds 6 rows as done: a run sends none of them again" in dry.stdout
    assert "dry run: 0 items would go in 0 link requests to 0 contacts" in dry.stdout


def test_a_dry_run_refuses_an_edited_file_as_the_run_would(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=1, emails=2)
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        assert cli("backfill", "link", str(path), *pointed_at(url, fake)).returncode == 0
    write_csv(path, rows[:1])
    dry = cli("backfill", "link", str(path), "--dry-run")
    assert dry.returncode == 2
    assert f"{path} changed since its journal" in one_line(dry)


def test_a_dry_run_body_carries_the_deals_module_id(tmp_path: Path) -> None:
    fake = FakeZoho()
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    dry = cli("backfill", "link", str(path), "--dry-run")
    body = json.loads(dry.stdout.split("the request:\n", 1)[1].splitlines()[1])
    (item,) = body["Emails"]
    assert item["linked_record"]["module"]["id"] == "<the Deals module's id>"
    assert "the run looks the Deals module's id up once (Get Modules)" in dry.stdout
