"""Running again before the day's credits are back is the same clean stop, exit 75, saying when to run
(issue 19, point 5)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.first_day import cli, pointed_at
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeConfig, FakeZoho

EXIT_CREDITS = 75


def test_a_rerun_before_the_credits_return_stops_cleanly_again(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(daily_credits=100))
    rows = make_world(fake, contacts=150, emails=1)  # 150 link requests; the org has 100 credits a day
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        args = ["backfill", "link", str(path), "--batch-size", "4", "-q", *pointed_at(url, fake)]
        first = cli(*args)
        assert first.returncode == EXIT_CREDITS, first.stderr
        again = cli(*args)
    assert "Traceback" not in again.stderr and "RateLimitError" not in again.stderr, again.stderr
    assert again.returncode == EXIT_CREDITS, again.stderr
    assert "credits for the day are spent" in again.stderr and "Run the same command again then" in again.stderr
    # The daily figure is the budget's, and it says where it comes from (Zoho does not send the org's).
    assert "a day by --edition and --users, an estimate: Zoho does not send the org's own figure" in first.stderr
