"""A record Zoho refuses (a deleted contact: INVALID_DATA) is named and skipped; the rest is read, and the exit
code says some failed (issue 19, point 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.first_day import cli, pointed_at
from zcrm_async.testing import FakeZoho

GONE = "5843104000009999999"  # numeric, well formed, and no contact of the fake's world


def test_export_skips_and_names_a_deleted_id_and_exports_the_rest(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    world = fake.seed_world(contacts=6, emails_per_contact=3)
    ids = [*world.contact_ids[:3], GONE, *world.contact_ids[3:]]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    out = tmp_path / "emails.jsonl"
    result = cli("emails", "export", "--ids", str(tmp_path / "ids.txt"), "--out", str(out), *pointed_at(url, fake))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert "1 record could not be read and was skipped:" in result.stderr
    assert f"  {GONE}: [INVALID_DATA] the related id given seems to be invalid" in result.stderr
    exported = {json.loads(line)["record_id"] for line in out.read_text().splitlines()}
    assert exported == set(world.contact_ids)  # every other record's emails are there
    expected = sum(len(fake.emails_of(contact)) for contact in world.contact_ids)
    assert f"exported {expected} emails of 6 records to {out}" in result.stdout


def test_audit_skips_and_names_a_deleted_contact(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    seeded = fake.seed_misfiled(contacts=4)
    (tmp_path / "contacts.txt").write_text("\n".join([GONE, *seeded.contact_ids]) + "\n")
    plan = tmp_path / "plan.csv"
    result = cli(
        "audit", "--rule", "no-closed-lost", "--contacts", str(tmp_path / "contacts.txt"), "--plan", str(plan),
        *pointed_at(url, fake),
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert "1 contact could not be read and was skipped:" in result.stderr
    assert f"  {GONE}: [INVALID_DATA]" in result.stderr
    judged = [line for line in result.stdout.splitlines() if "emails read" in line]
    assert judged and f" {len(seeded.message_ids)} " in judged[0]  # every other contact was judged
    assert plan.exists()
