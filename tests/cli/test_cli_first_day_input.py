"""A backfill file's first-day mistakes (issue 19, point 9): a quote left open refuses its own row, and the next
lines are still rows."""

from __future__ import annotations

from pathlib import Path

from tests.cli.first_day import cli

HEADER = "contact_id,message_id,deal_id,deal_name,owner_id,owner_name\n"
MODULE = ["--deals-module-id", "5843104000000002181"]


def test_an_unterminated_quote_refuses_its_row_and_swallows_no_other(tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text(
        HEADER
        + '1001,m1,2001,"Deal A,3001,Owner\n'  # line 2: the quote never closes
        + "1002,m2,2002,Deal B,3001,Owner\n"
        + "1003,m3,2003,Deal C,3001,Owner\n"
    )
    result = cli("backfill", "link", str(path), "--dry-run", *MODULE)
    assert result.returncode == 1  # a bad row counts as failed
    assert "line 2 opens a quote it does not close" in result.stderr
    assert "deal_id is missing" not in result.stderr
    assert "dry run: 2 items would go in 2 link requests to 2 contacts" in result.stdout
