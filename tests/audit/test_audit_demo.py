"""``zcrm-async demo`` ends with an audit, the backfills of its plan, and a second audit that finds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zcrm_async.cli import main


def test_demo_audits_applies_the_plan_and_audits_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--contacts", "40", "--latency-ms", "0", "--workdir", str(tmp_path), "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "audit by rule prediction" in out and "a second audit finds 0" in out and out.rstrip().endswith("OK")
    judged = [json.loads(line) for line in (tmp_path / "demo-audit.jsonl").read_text().splitlines()]
    assert {row["action"] for row in judged} == {"move", "link", "unlink", "right", "leave"}
    assert (tmp_path / "demo-audit-plan.relink.csv").exists()
    assert not (tmp_path / "demo-audit-again.relink.csv").exists()
