"""``zcrm-async demo`` runs to its verified summary; ``emails export`` writes each email once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import connection_args, run_cli
from zcrm_async.cli import main
from zcrm_async.testing import FakeZoho


def test_demo_runs_the_real_backfill_and_verifies_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--contacts", "150", "--latency-ms", "10", "--workdir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "before:" in out and "on the wrong deal" in out
    assert "outcomes of 450 items" in out and "token refreshes" in out and "ideal requests/s" in out
    assert "450/450 emails linked to the deal the input asks (OK)" in out
    report = [json.loads(line) for line in (tmp_path / "demo-report.jsonl").read_text().splitlines()]
    assert len(report) == 450 and {line["code"] for line in report} == {"SUCCESS"}
    # A second demo in the same workdir starts afresh rather than resuming the old journal.
    assert main(["demo", "--contacts", "20", "--latency-ms", "0", "--workdir", str(tmp_path), "-q"]) == 0


@pytest.mark.anyio
async def test_export_writes_every_email_once(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        summary = fake.seed_world(contacts=30, emails_per_contact=12)  # 12 emails: two pages each
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join([*summary.contact_ids[:10], "", summary.contact_ids[0]]) + "\n")
        out = tmp_path / "emails.jsonl"
        assert await run_cli(["emails", "export", "--ids", str(ids), "--out", str(out), *connection_args(fake)]) == 0
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(lines) == sum(len(fake.emails_of(contact)) for contact in summary.contact_ids[:10])
        addressed = [line["email"]["message_id"] for line in lines if line["email"]["message_id"] is not None]
        assert len(addressed) == len(set(addressed)) == 120
        assert {line["record_id"] for line in lines} == set(summary.contact_ids[:10])

        every = tmp_path / "all.jsonl"
        assert await run_cli(["emails", "export", "--module", "Contacts", "--out", str(every), "-q",
                              *connection_args(fake)]) == 0  # fmt: skip
        exported = [json.loads(line)["email"]["message_id"] for line in every.read_text().splitlines()]
        assert sorted(m for m in exported if m is not None) == sorted(summary.message_ids)
        assert exported.count(None) == len(summary.sparse_ids)


def test_export_refuses_a_bad_id_file(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("123\nabc\n")
    args = ["--client-id", "a", "--client-secret", "b", "--refresh-token", "c", "--api-domain", "http://127.0.0.1:9"]
    assert main(["emails", "export", "--ids", str(ids), "--out", str(tmp_path / "o.jsonl"), *args]) == 2
