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
FIGURES = ("1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. ", "8. ", "9. ", "10. ")


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


# -- the record figures, run small: every way reads or writes every record, with the requests it should ------


def test_the_export_figure_reads_every_record_by_each_way() -> None:
    from benchmarks import bench_export

    (row,) = bench_export.figure(3_000)

    assert row.verdict in {"PASS", "FAIL"}, row
    for way in bench_export.WAYS:
        result = row.data[way]
        assert result["rows"] == 3_000 and not result["stopped"], (way, result)
        assert result["peak_kib"] > 0 and result["requests"] > 0 and result["credits"] > 0
    assert row.data["bulk_read"]["credits"] >= 50  # one job, Zoho's price for it


def test_the_record_writes_figure_sends_the_minimum_requests_and_every_record_lands() -> None:
    from benchmarks import bench_record_writes

    insert, upsert = bench_record_writes.figure(300)

    for row in (insert, upsert):
        assert row.verdict in {"PASS", "FAIL"}, row
    data = upsert.data
    assert data["minimum_requests"] == 3
    for run in ("ours_insert", "ours_upsert", "raw_insert", "raw_upsert"):
        assert data[run]["server_requests"] == 3 and data[run]["ok"] == 300, (run, data[run])
    assert data["ours_upsert"]["actions"] == {"update": 150, "insert": 150}
    assert data["ours_insert"]["credits"] == data["ours_upsert"]["credits"] == 30  # 1 per 10 records


@pytest.mark.slow  # its first run makes the SDK's venv from PyPI (benchmarks/sdk_env.py), as figure 5's does
@pytest.mark.timeout(300)
def test_the_sdk_records_figure_runs_the_official_sdk_beside_ours() -> None:
    from benchmarks import bench_sdk_records

    coql, insert = bench_sdk_records.figure(500, 200)

    for row in (coql, insert):
        assert row.verdict in {"PASS", "FAIL"}, row  # the SDK ran: its venv is made as figure 5's is
    data = insert.data
    assert data["ours"]["coql"]["rows"] == data["sdk"]["coql"]["rows"] == 500
    assert data["ours"]["insert"]["ok"] == data["sdk"]["insert"]["ok"] == 200
    assert data["ours"]["insert"]["requests"] == data["sdk"]["insert"]["requests"] == 2


# -- figure 2 as an A/B, on FakeZoho and on the plain server written apart from it ---------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["fake", "plain"])
def test_the_figure_2_ab_runs_every_client_each_round_within_the_cap(tmp_path: Path, server: str) -> None:
    out = tmp_path / "ab.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ab_throughput", "--pairs", "2", "--requests", "200", "--server", server,
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["server"] == server and len(result["rounds"]) == 2
    for this in result["rounds"]:
        assert set(this) == {"ours", "semaphore"}
        for name, client in this.items():
            # 200 calls started at once against a cap of 20: every one answered, the cap filled, never passed.
            assert client["ok"] == 200 and client["failed"] == 0, (name, client)
            assert client["throttled_server"] == 0 and client["max_in_flight"] == 20, (name, client)
    assert "| ours |" in done.stdout and "| semaphore |" in done.stdout


@pytest.mark.timeout(120)
def test_the_figure_7_ab_runs_the_cli_and_the_library_each_round_on_rows_of_their_own(tmp_path: Path) -> None:
    out = tmp_path / "ab7.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ab_backfill", "--rounds", "2", "--items", "200", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["items"] == 200 and len(result["rounds"]) == 2 and len(result["ratios"]) == 2
    for this in result["rounds"]:
        assert set(this) == {"cli", "library"}
        for kind, run in this.items():
            # Every email unlinked at the start of each run: each links all 200, 20 a request, 10 requests.
            assert run["link_requests"] == 10 and run["cpu"] > 0, (kind, run)
    assert "| round |" in done.stdout and "median" in done.stdout
