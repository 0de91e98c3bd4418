"""``zcrm-async backfill relink`` through a real process: an email whose contact is not associated with the target
deal is not moved and nothing is unlinked for it; the run says so in plain words, the journal keeps it final (a
rerun sends nothing), and a new journal sends it again once the deal has the contact (issue 13, point 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli_helpers import make_world, read_report, write_jsonl
from zcrm_async.testing import FakeZoho

TIMEOUT = 60


def _relink(fake: FakeZoho, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = fake.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    return subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", "backfill", "relink", *args, "--api-domain", url,
         "--accounts-url", url, "--client-id", cfg.client_id, "--client-secret", cfg.client_secret,
         "--refresh-token", cfg.refresh_token, "--no-token-cache"],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False,
    )  # fmt: skip


def test_a_relink_to_a_deal_of_another_contact_fails_plainly_unlinks_nothing_and_stays_final(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=2, emails=3)
    for row in rows:
        fake.world.link_directly(row["message_id"], row["deal_id"])  # each email on its own contact's deal
    someone = fake.add_contact("Someone Else")
    theirs = fake.add_deal("Someone else's deal", [someone])
    path = write_jsonl(tmp_path / "relink.jsonl", [{**row, "deal_id": theirs, "deal_name": ""} for row in rows])
    report = tmp_path / "report.jsonl"

    with fake.serving_in_thread() as url:  # the world is changed and read only between the runs
        first = _relink(fake, url, str(path), "--report", str(report), "-q")
        again = _relink(fake, url, str(path), "-q")
        links_sent, unlinks_sent = fake.stats.requests["link_emails"], fake.stats.requests["unlink_emails"]
        stayed = all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
        for row in rows:
            fake.associate(row["contact_id"], theirs)  # the user puts the contacts on the deal
        fixed = _relink(fake, url, str(path), "--journal", str(tmp_path / "after-fix.sqlite"), "-q")
    assert first.returncode == 1, first.stderr
    assert "6 items were not linked: their deal is not associated with their contact" in first.stdout
    assert "run those rows again with a new journal (--journal NEW)" in first.stdout
    lines = read_report(report)
    assert {line["code"] for line in lines} == {"NOT_ALLOWED"}
    assert f"deal {theirs} is not associated with contact {rows[0]['contact_id']}" in str(lines[0]["message"])
    assert unlinks_sent == 0 and stayed  # nothing unlinked: each email still on its own deal
    assert again.returncode == 1  # a rerun on the same journal: final, nothing sent again
    assert links_sent == 2  # the first run's one link request per contact, none from the rerun
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert all(fake.link_of(row["message_id"]) == theirs for row in rows)
