"""``--retry-failed``: the rows Zoho refused for good are sent again on the same journal once their cause is fixed,
and only those (issue 19, point 8)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.first_day import cli, pointed_at
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeZoho


def test_refused_rows_are_sent_again_with_retry_failed_once_fixed(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=2, emails=2)
    other_deal = rows[2]["deal_id"]
    rows[0]["deal_id"] = other_deal  # the first contact is not on the second's deal: NOT_ALLOWED, final
    rows[1]["contact_id"] = "not-an-id"  # a bad row: refused before sending, and it stays refused
    path = write_csv(tmp_path / "links.csv", rows)
    first = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert first.returncode == 1 and "line 2: NOT_ALLOWED" in first.stderr, first.stderr

    fake.reset_stats()
    again = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert again.returncode == 1 and fake.stats.requests["link_emails"] == 0  # final: nothing sent again

    fake.associate(rows[0]["contact_id"], other_deal)  # the cause fixed: the contact is on that deal now
    planned = cli("backfill", "link", str(path), "--dry-run", *pointed_at(url, fake))
    assert "the journal holds 4 rows as done" in planned.stdout, planned.stdout
    planned = cli("backfill", "link", str(path), "--dry-run", "--retry-failed", *pointed_at(url, fake))
    assert "the journal holds 3 rows as done" in planned.stdout and "1 item would go in" in planned.stdout
    retried = cli("backfill", "link", str(path), "--retry-failed", *pointed_at(url, fake))
    assert "1 item that failed before is tried again" in retried.stdout + retried.stderr, retried.stderr
    assert fake.stats.requests["link_emails"] == 1  # only the refused row went out
    assert fake.link_of(rows[0]["message_id"]) == other_deal
    assert retried.returncode == 1  # the bad row is still refused
    assert "line 3: contact_id" in retried.stderr


def test_help_says_what_retry_failed_does() -> None:
    shown = cli("backfill", "link", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "--retry-failed" in text and "failed for good" in text and "bad rows stay refused" in text
