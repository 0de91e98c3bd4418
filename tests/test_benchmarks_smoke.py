"""The benchmark harness runs end to end: ``python -m benchmarks --quick`` prints a full table and writes the JSON.

No timing is asserted here (timing never goes in tests): only that every figure produced its row, in the table
and in the JSON, and that no benchmark broke. The SDK row may say it was not run (no network to install the SDK).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. ")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_quick_run_prints_the_table_and_writes_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert table[0] == "| figure | ours | peer | ratio | goal | verdict |"
    rows = table[1:]
    for figure in FIGURES:
        assert any(row.startswith(f"| {figure}") for row in rows), f"no row for figure {figure!r}:\n{done.stdout}"

    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG"), "no chart beside the JSON"
    result = json.loads(out.read_text())
    assert result["quick"] is True
    assert len(result["rows"]) == len(rows)
    for row in result["rows"]:
        assert set(row) >= {"figure", "ours", "peer", "ratio", "goal", "verdict", "data"}
        assert not row["verdict"].startswith("ERROR"), row
        assert row["verdict"] in {"PASS", "FAIL"} or row["verdict"].startswith("SDK NOT RUN"), row
