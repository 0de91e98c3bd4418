"""``zcrm-async demo`` ends with an audit, the backfills of its plan, and a second audit that finds nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_audits_applies_the_plan_and_audits_again(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    command = [sys.executable, "-m", "zcrm_async.cli", "demo", "--contacts", "40", "--latency-ms", "0",
               "--workdir", str(tmp_path), "-q"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "audit by rule prediction" in out and "a second audit finds 0" in out and out.rstrip().endswith("OK")
    judged = [json.loads(line) for line in (tmp_path / "demo-audit.jsonl").read_text().splitlines()]
    assert {row["action"] for row in judged} == {"move", "link", "unlink", "right", "leave"}
    assert (tmp_path / "demo-audit-plan.relink.csv").exists()
    assert not (tmp_path / "demo-audit-again.relink.csv").exists()
