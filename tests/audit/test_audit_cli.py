"""``zcrm-async audit`` end to end, as a user runs it: audit, the backfills of its plan, then a second audit.

The CLI runs as a real subprocess against FakeZoho serving from a thread; the fake's world is the judge.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zcrm_async.testing import FakeZoho

# private on purpose: the fake's data, read to know what the audit should find
from zcrm_async.testing._fake_world import World

BACKFILL_ORDER = ("unlink", "relink", "link")


def cli(fake: FakeZoho, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = fake.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env.update(ZOHO_CLIENT_SECRET=cfg.client_secret, ZOHO_REFRESH_TOKEN=cfg.refresh_token)
    command = [sys.executable, "-m", "zcrm_async.cli", *args, "--api-domain", fake.url, "--accounts-url", fake.url,
               "--client-id", cfg.client_id]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def received_links(fake: FakeZoho, world: World, contacts: tuple[str, ...]) -> dict[str, tuple[str, str | None]]:
    """message id -> (contact id, linked deal id) for every received email of the contacts."""
    links: dict[str, tuple[str, str | None]] = {}
    for contact in contacts:
        for message_id in fake.emails_of(contact):
            email = world.email(message_id)
            assert email is not None
            if not email.sent:
                links[message_id] = (contact, fake.link_of(message_id))
    return links


def rule_holds(rule: str, world: World, contact: str, deal_id: str | None) -> bool:
    """The rule's demand, checked on the fake's own state (its Deal Prediction, its stages), not the client's."""
    open_deals = [d for d in world.records_of("Deals") if d.primary_contact == contact and d.is_open]
    deal = world.record(deal_id, "Deals") if deal_id else None
    if rule == "prediction":
        return deal_id == world.predict_deal(contact)
    if rule == "no-closed-lost":
        return deal is None or not deal.closed_lost
    return deal_id is not None or len(open_deals) != 1  # single-open-deal


@pytest.mark.parametrize("rule", ["prediction", "no-closed-lost", "single-open-deal"])
def test_audit_then_backfill_then_nothing_left(tmp_path: Path, rule: str) -> None:
    fake = FakeZoho()
    seeded = fake.seed_misfiled(contacts=16, emails_per_contact=3, seed=5)
    fake.rename_stage("Closed Lost", "Lost (no budget)")  # the audit must read closed-lost from the picklist
    before = received_links(fake, fake.world, seeded.contact_ids)
    assert not all(rule_holds(rule, fake.world, c, d) for c, d in before.values())  # there is work to do
    plan, report = tmp_path / "plan.csv", tmp_path / "judged.jsonl"
    with fake.serving_in_thread():
        first = cli(fake, "audit", "--rule", rule, "--plan", str(plan), "--report", str(report))
        assert first.returncode == 0, first.stderr
        judged = read_jsonl(report)
        assert len(judged) == len(seeded.message_ids)
        applied = [kind for kind in BACKFILL_ORDER if (tmp_path / f"plan.{kind}.csv").exists()]
        assert applied and f"zcrm-async backfill {applied[0]}" in first.stdout
        assert fake.stats.requests.keys() <= {"token", "get_fields", "get_records", "get_emails"}  # read only
        for kind in applied:
            done = cli(fake, "backfill", kind, str(tmp_path / f"plan.{kind}.csv"), "--quiet")
            assert done.returncode == 0, done.stdout + done.stderr
        second = cli(fake, "audit", "--rule", rule, "--plan", str(tmp_path / "again.csv"))
    assert second.returncode == 0, second.stderr
    assert "nothing to change" in second.stdout
    assert not [kind for kind in BACKFILL_ORDER if (tmp_path / f"again.{kind}.csv").exists()]

    # The server now holds exactly what the first audit asked, and nothing else moved.
    for row in judged:
        message_id = str(row["message_id"])
        changed = row["action"] in ("move", "link", "unlink")
        wanted = (row["deal_id"] if changed else row["current_deal_id"]) or None
        assert fake.link_of(message_id) == wanted, row
    after = received_links(fake, fake.world, seeded.contact_ids)
    assert all(rule_holds(rule, fake.world, c, d) for c, d in after.values())


def test_plan_files_are_what_the_backfill_reads(tmp_path: Path) -> None:
    fake = FakeZoho()
    fake.seed_misfiled(contacts=8, emails_per_contact=2, seed=1)
    plan = tmp_path / "plan.csv"
    (tmp_path / "plan.unlink.csv").write_text("stale from an older audit\n", encoding="utf-8")
    with fake.serving_in_thread():
        done = cli(fake, "audit", "--rule", "prediction", "--plan", str(plan))
        dry = cli(fake, "backfill", "relink", str(tmp_path / "plan.relink.csv"), "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert done.returncode == 0, done.stderr
    assert "emails read" in done.stdout and "to move" in done.stdout
    with plan.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    kinds = {"move": "relink", "link": "link", "unlink": "unlink"}
    for kind in set(kinds.values()):
        path = tmp_path / f"plan.{kind}.csv"
        expected = [r for r in rows if kinds[r["action"]] == kind]
        if not expected:
            assert not path.exists()  # the stale file is gone too
            continue
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            assert reader.fieldnames is not None and "reason" in reader.fieldnames
            assert ("deal_id" in reader.fieldnames) == (kind != "unlink")
            written = list(reader)
        assert [r["message_id"] for r in written] == [r["message_id"] for r in expected]
        assert all(r["reason"] and r["owner_id"] and r["contact_id"] for r in written)


def test_bad_rule_is_a_usage_error(tmp_path: Path) -> None:
    fake = FakeZoho()
    with fake.serving_in_thread():
        done = cli(fake, "audit", "--rule", "nonsense")
    assert done.returncode == 2 and "unknown rule" in done.stderr


def test_fake_server_seeds_an_org_to_audit(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.testing", "--port", "0", "--seed-misfiled", "12"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("seeded 12 contacts with 60 emails") and lines[1].startswith("FakeZoho listening")
        url = lines[1].split()[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
        env.update(ZOHO_API_DOMAIN=url, ZOHO_ACCOUNTS_URL=url, ZOHO_CLIENT_ID="fake-client-id",
                   ZOHO_CLIENT_SECRET="fake-client-secret", ZOHO_REFRESH_TOKEN="fake-refresh-token")  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "zcrm_async.cli", "audit", "--rule", "no-closed-lost", "--report",
             str(tmp_path / "judged.jsonl"), "-q"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    assert done.returncode == 0, done.stdout + done.stderr
    judged = read_jsonl(tmp_path / "judged.jsonl")
    assert len(judged) == 60 and {row["action"] for row in judged} == {"move", "unlink", "leave"}
