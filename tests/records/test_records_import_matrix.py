"""``zcrm-async records import`` by each kind (--insert, --update, --upsert) through the real CLI against FakeZoho:
every row written once, some rows refused, every row refused, and lost answers (the fake applies the write and drops
its answer: an upsert or update replayed finds its record, an insert in doubt is looked up by its key, never resent
blind). Bad usage of each kind is refused before any request in ``test_records_import.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import connection_args, run_cli
from tests.records.test_records_import import write_rows
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

KINDS = ["insert", "update", "upsert"]
UNKNOWN_ID = "5843104000999999999"


def rows_for(fake: FakeZoho, kind: str, count: int) -> tuple[list[dict[str, str]], list[str]]:
    """``count`` rows of ``kind`` (an update's over existing contacts; an upsert's half over existing ones), and
    the CSV header."""
    if kind == "update":
        ids = [fake.add_contact(f"Old {n}", f"p{n}@example.net") for n in range(count)]
        return [{"id": i, "Last_Name": f"Person {n}"} for n, i in enumerate(ids)], ["id", "Last_Name"]
    if kind == "upsert":
        for n in range(0, count, 2):
            fake.add_contact(f"Old {n}", f"p{n}@example.net")
    rows = [{"Last_Name": f"Person {n}", "Email": f"p{n}@example.net"} for n in range(count)]
    return rows, ["Last_Name", "Email"]


async def run_import(fake: FakeZoho, path: Path, kind: str, report: Path) -> int:
    return await run_cli(["records", "import", "Contacts", str(path), f"--{kind}", "--report", str(report), "-q",
                          *connection_args(fake)])  # fmt: skip


def report_codes(report: Path) -> list[str]:
    return [json.loads(line)["code"] for line in report.read_text().splitlines()]


def names(fake: FakeZoho) -> list[str]:
    return sorted(record.name for record in fake.world.records_of("Contacts"))


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_writes_every_row_once_and_exits_0(tmp_path: Path, kind: str) -> None:
    async with FakeZoho() as fake:
        rows, header = rows_for(fake, kind, 250)
        path, report = write_rows(tmp_path / "in.csv", rows, header), tmp_path / "report.jsonl"
        assert await run_import(fake, path, kind, report) == 0
        assert report_codes(report) == ["SUCCESS"] * 250
        assert names(fake) == sorted(f"Person {n}" for n in range(250))
        assert set(fake.stats.record_writes.values()) == {1}


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_with_some_rows_refused_reports_them_and_exits_1(tmp_path: Path, kind: str) -> None:
    async with FakeZoho() as fake:
        rows, header = rows_for(fake, kind, 6)
        if kind == "update":
            rows[1]["id"] = UNKNOWN_ID  # no such record: INVALID_DATA
            rows[4]["Last_Name"] = "x" * 300  # over the field's length: INVALID_DATA
        else:
            rows[1]["Last_Name"] = rows[3]["Last_Name"] = ""  # a new record needs its Last_Name
            if kind == "upsert":
                rows[3]["Email"] = "new3@example.net"  # row 3 (an existing p2's neighbour) is new: refused too
        path, report = write_rows(tmp_path / "in.csv", rows, header), tmp_path / "report.jsonl"
        assert await run_import(fake, path, kind, report) == 1
        codes = report_codes(report)
        refused = [1, 4] if kind == "update" else [1, 3]
        assert [n for n, code in enumerate(codes) if code != "SUCCESS"] == refused, codes
        assert (tmp_path / "report.failed.csv").exists()


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_with_every_row_refused_exits_1_and_writes_nothing(tmp_path: Path, kind: str) -> None:
    async with FakeZoho() as fake:
        if kind == "update":
            rows, header = [{"id": UNKNOWN_ID[:-1] + str(n), "Last_Name": "x"} for n in range(5)], ["id", "Last_Name"]
        else:
            rows, header = [{"Last_Name": "", "Email": f"new{n}@example.net"} for n in range(5)], ["Last_Name", "Email"]
        path, report = write_rows(tmp_path / "in.csv", rows, header), tmp_path / "report.jsonl"
        assert await run_import(fake, path, kind, report) == 1
        codes = report_codes(report)
        assert len(codes) == 5 and "SUCCESS" not in codes, codes
        assert fake.world.records_of("Contacts") == [] and not fake.stats.record_writes


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_with_lost_answers_writes_every_row_exactly_once(tmp_path: Path, kind: str) -> None:
    async with FakeZoho(FakeConfig(seed=29)) as fake:
        rows, header = rows_for(fake, kind, 450)
        fake.set_faults(lost_response_rate=0.5)
        path, report = write_rows(tmp_path / "in.csv", rows, header), tmp_path / "report.jsonl"
        assert await run_import(fake, path, kind, report) == 0
        assert fake.stats.lost_responses > 0
        assert report_codes(report) == ["SUCCESS"] * 450
        assert names(fake) == sorted(f"Person {n}" for n in range(450))  # no row made twice, none lost
        if kind == "insert":  # in doubt: looked up by Email, never resent blind
            assert set(fake.stats.record_writes.values()) == {1} and fake.stats.requests["coql"] > 0
