"""``zcrm-async records export`` by each path (COQL, Get Records, Bulk Read), to CSV and to JSONL, in a fresh process
whose peak RSS (``VmHWM``) stays under 150 MiB, against a FakeZoho served from another process.

COQL and Bulk Read export 250,000 records. Get Records reaches at most 100,000 records (Zoho's page_token chain ends
there, "Get Records"), so no export by it can hold more: it is measured at its reach, 100,000, and at 25,000, and
its peak must not grow with the records (within 16 MiB): a path whose memory does not grow with its records from
25,000 to 100,000 is not what 250,000 would break. Slow (about a minute a path on 2 cores): run with ``-m slow``.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

WORKERS = Path(__file__).with_name("export_workers.py")
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
BOUND_KIB = 150 * 1024
FLAT_KIB = 16 * 1024

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


class Server:
    """``export_workers.py serve``: FakeZoho with Contacts (and Leads) in a process of its own."""

    def __init__(self, contacts: int, leads: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKERS), "serve", str(contacts), str(leads)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env=ENV,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.fake: dict[str, str] = json.loads(self.process.stdout.readline())

    def export(self, module: str, out: Path, by: str) -> dict[str, Any]:
        """One export in a fresh process: its exit code, peak RSS (KiB) and what it printed."""
        fake = self.fake
        args = [module, "--fields", "Last_Name,Email", "--out", str(out), "-q", "--no-token-cache", "--by", by,
                "--api-domain", fake["url"], "--accounts-url", fake["accounts_url"], "--client-id", fake["client_id"],
                "--client-secret", fake["client_secret"], "--refresh-token", fake["refresh_token"]]  # fmt: skip
        done = subprocess.run([sys.executable, str(WORKERS), "export", *args], capture_output=True, text=True,
                              timeout=600, check=False, env=ENV)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["code"] == 0, done.stderr[-3000:]
        return {**report, "stdout": done.stdout}

    def close(self) -> None:
        self.process.communicate(timeout=30)


def served(contacts: int, leads: int = 0) -> Iterator[Server]:
    server = Server(contacts, leads)
    try:
        yield server
    finally:
        server.close()


def records_in(out: Path) -> int:
    if out.suffix == ".jsonl":
        with out.open() as file:
            return sum(1 for _ in file)
    with out.open(newline="") as file:
        return sum(1 for _ in csv.reader(file)) - 1


@pytest.fixture(scope="module")
def big() -> Iterator[Server]:
    yield from served(250_000)


@pytest.mark.parametrize("by", ["coql", "bulk"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_250000_records_export_under_150_mib(big: Server, tmp_path: Path, by: str, suffix: str) -> None:
    out = tmp_path / f"contacts{suffix}"
    report = big.export("Contacts", out, by)
    assert records_in(out) == 250_000
    print(f"{by} {suffix}: peak {report['peak_kib'] / 1024:.1f} MiB")
    assert report["peak_kib"] < BOUND_KIB, report


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_get_records_exports_its_reach_under_150_mib_and_flat_in_the_records(tmp_path: Path, suffix: str) -> None:
    for server in served(100_000, leads=25_000):
        full = server.export("Contacts", tmp_path / f"contacts{suffix}", "records")
        quarter = server.export("Leads", tmp_path / f"leads{suffix}", "records")
    assert records_in(tmp_path / f"contacts{suffix}") == 100_000 and records_in(tmp_path / f"leads{suffix}") == 25_000
    peaks = f"{full['peak_kib'] / 1024:.1f} MiB at 100,000, {quarter['peak_kib'] / 1024:.1f} at 25,000"
    print(f"records {suffix}: peak {peaks}")
    assert full["peak_kib"] < BOUND_KIB, full
    assert full["peak_kib"] - quarter["peak_kib"] < FLAT_KIB, (full, quarter)
