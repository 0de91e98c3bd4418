"""``zcrm-async records import``: a CSV of records inserted, updated or upserted through the real CLI against
FakeZoho, journaled like ``backfill``: each row's outcome, a rerun that sends nothing again, rows in flight read
back before anything is resent, bad rows and bad usage refused before any request, the report and its failed
rows; and an upsert of 100,000 rows SIGKILLed twice that ends with every row written exactly once."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import connection_args, run_cli
from tests.journal_watch import count_done, read_journal, wait_for
from zcrm_async.testing import FakeConfig, FakeZoho

#: The CLI's subprocesses import this checkout's package, whatever the environment has installed.
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def write_rows(path: Path, rows: list[dict[str, str]], header: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def people(count: int, start: int = 0, name: str = "Person") -> list[dict[str, str]]:
    return [{"Last_Name": f"{name} {n}", "Email": f"p{n}@example.net", "Title": f"T{n}"}
            for n in range(start, start + count)]  # fmt: skip


def writes(fake: FakeZoho) -> dict[str, int]:
    return {name: count for name, count in fake.stats.requests.items() if name.endswith("_records")}


def import_args(fake: FakeZoho, path: Path, *flags: str) -> list[str]:
    return ["records", "import", "Contacts", str(path), *flags, *connection_args(fake)]


@pytest.mark.anyio
async def test_an_upsert_inserts_and_updates_each_row_once_and_a_rerun_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        known = {f"p{n}@example.net": fake.add_contact(f"Old {n}", f"p{n}@example.net") for n in range(100)}
        path = write_rows(tmp_path / "people.csv", people(250), ["Last_Name", "Email", "Title"])
        report = tmp_path / "report.jsonl"

        code = await run_cli(import_args(fake, path, "--upsert", "--duplicate-check-fields", "Email",
                                         "--report", str(report)))  # fmt: skip
        out = capsys.readouterr().out

        assert code == 0, out
        contacts = fake.world.records_of("Contacts")
        assert sorted(r.email or "" for r in contacts) == sorted(f"p{n}@example.net" for n in range(250))
        assert all(fake.world.record(known[f"p{n}@example.net"]).name == f"Person {n}" for n in range(100))
        assert {r.fields.get("Title") for r in contacts} == {f"T{n}" for n in range(250)}
        assert set(fake.stats.record_writes.values()) == {1}
        assert writes(fake) == {"upsert_records": 3}
        lines = [json.loads(line) for line in report.read_text().splitlines()]
        assert [line["line"] for line in lines] == list(range(2, 252))
        assert lines[0] == {"line": 2, "Last_Name": "Person 0", "Email": "p0@example.net", "Title": "T0",
                            "code": "SUCCESS", "status": "success", "message": "record updated", "attempts": 1}
        assert "SUCCESS" in out and "250" in out

        again = await run_cli(import_args(fake, path, "--upsert", "--duplicate-check-fields", "Email"))
        assert again == 0 and writes(fake) == {"upsert_records": 3}  # the journal says every row is done


@pytest.mark.anyio
async def test_insert_and_update_partial_failures_are_reported_by_line_with_a_failed_rows_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        fake.add_contact("Taken", "taken@example.net", external_id="ext-taken")
        rows = [{"Last_Name": "A", "Email": "a@example.net"}, {"Last_Name": "", "Email": "b@example.net"},
                {"Last_Name": "C", "Email": ""}, {"Last_Name": "D", "Email": "d@example.net"}]  # fmt: skip
        path = write_rows(tmp_path / "new.csv", rows, ["Last_Name", "Email"])
        report = tmp_path / "new.jsonl"

        code = await run_cli(import_args(fake, path, "--insert", "--report", str(report)))
        captured = capsys.readouterr()
        out = captured.out + captured.err

        assert code == 1
        codes = [json.loads(line)["code"] for line in report.read_text().splitlines()]
        assert codes == ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_ROW", "SUCCESS"]  # line 4: no Email to find it by
        assert "line 3" in out and "line 4" in out
        with (tmp_path / "new.failed.csv").open(newline="") as failed:
            assert list(csv.reader(failed)) == [["Last_Name", "Email"], ["", "b@example.net"], ["C", ""]]

        ids = {r.email: r.id for r in fake.world.records_of("Contacts")}
        updates = [{"id": ids["a@example.net"], "Last_Name": "A2"}, {"id": "5843104000999999999", "Last_Name": "X"}]
        changes = write_rows(tmp_path / "changes.csv", updates, ["id", "Last_Name"])
        assert await run_cli(import_args(fake, changes, "--update")) == 1
        assert fake.world.record(ids["a@example.net"]).name == "A2"
        assert "INVALID_DATA" in "".join(capsys.readouterr())


@pytest.mark.anyio
async def test_rows_a_killed_run_left_in_flight_are_read_back_and_only_the_unapplied_are_sent(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        path = write_rows(tmp_path / "people.csv", people(300), ["Last_Name", "Email", "Title"])
        journal = tmp_path / "people.csv.journal.sqlite"
        assert await run_cli(import_args(fake, path, "--upsert")) == 0
        # As a kill would leave it: rows 2-201 marked in flight; of them, 150 applied (their records hold the row)
        # and 50 not (their record was changed back, as if the kill came before the request left).
        changed = {f"p{n}@example.net" for n in range(150, 200)}
        for record in fake.world.records_of("Contacts"):
            if record.email in changed:
                record.name = "Before"
        with sqlite3.connect(journal) as db:
            db.execute("UPDATE items SET state = 1, outcome = NULL WHERE line BETWEEN 2 AND 201")
        fake.reset_stats()

        assert await run_cli(import_args(fake, path, "--upsert")) == 0

        assert fake.stats.requests["upsert_records"] == 1  # the 50 not applied, in one request
        assert fake.stats.requests["coql"] == 4  # the 200 in flight looked up, 50 values a query
        assert len(fake.stats.record_writes) == 50
        assert all(r.name.startswith("Person") for r in fake.world.records_of("Contacts"))


@pytest.mark.parametrize(
    ("flags", "header", "message"),
    [
        (["--upsert"], ["Last_Name"], "no Email column"),
        (["--update"], ["Last_Name"], "no id column"),
        (["--upsert", "--duplicate-check-fields", "External_Contact_ID"], ["Last_Name", "Email"],
         "no External_Contact_ID column"),
        (["--insert"], ["Last Name", "Email"], "not a field API name"),
        (["--insert"], ["Email", "email"], "twice"),
    ],
)
@pytest.mark.anyio
async def test_bad_usage_is_refused_before_any_request_and_leaves_no_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], header: list[str], message: str
) -> None:
    async with FakeZoho() as fake:
        path = tmp_path / "in.csv"
        path.write_text(",".join(header) + "\nx,y\n")
        assert await run_cli(import_args(fake, path, *flags)) == 2
        assert message in capsys.readouterr().err
        assert not fake.stats.requests and sorted(p.name for p in os.scandir(tmp_path)) == ["in.csv"]


# -- 100,000 rows, killed twice --------------------------------------------------------------------------------


def _in_flight(journal: Path) -> int:
    rows = read_journal(journal, "SELECT COUNT(*) FROM items WHERE state = 1")
    assert rows is not None, f"no journal at {journal}"
    return int(rows[0][0])


def _cli(fake: FakeZoho, url: str, path: Path, log: Path) -> subprocess.Popen[bytes]:
    cfg = fake.config
    command = [
        sys.executable, "-m", "zcrm_async.cli", "records", "import", "Contacts", str(path), "--upsert",
        "--duplicate-check-fields", "Email", "--api-domain", url, "--accounts-url", url, "--edition", "enterprise",
        "--client-id", cfg.client_id, "--no-token-cache",
    ]  # fmt: skip
    env = {**ENV, "ZOHO_CLIENT_SECRET": cfg.client_secret, "ZOHO_REFRESH_TOKEN": cfg.refresh_token}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_an_upsert_of_100000_rows_killed_twice_writes_every_row_exactly_once(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(daily_credits=10**9))
    existing = [fake.add_contact(f"Old {n}", f"p{n}@example.net") for n in range(50_000)]
    path = write_rows(tmp_path / "people.csv", people(100_000), ["Last_Name", "Email", "Title"])
    journal, log = tmp_path / "people.csv.journal.sqlite", tmp_path / "cli.log"
    rng = random.Random()
    kills: list[int] = []
    caught: list[int] = []  # rows each kill left in flight: what the next run must read back
    with fake.serving_in_thread() as url:
        while len(kills) < 2 or (not any(caught) and len(kills) < 6):
            before = count_done(journal)
            run = _cli(fake, url, path, log)
            target = before + rng.randrange(5_000, 25_000)
            wait_for(lambda goal=target: count_done(journal) >= goal, run, journal, "no progress")
            assert run.poll() is None, "the run ended before it could be killed: " + log.read_text()[-2000:]
            os.kill(run.pid, signal.SIGKILL)
            run.wait(timeout=10)
            kills.append(count_done(journal))
            caught.append(_in_flight(journal))
        final = _cli(fake, url, path, log)
        wait_for(lambda: False, final, journal, "the final run stalled")
        assert final.wait() == 0, log.read_text()[-3000:]

    assert any(caught), f"no kill caught a row in flight ({caught}): the resume read nothing back"
    assert kills == sorted(kills) and kills[-1] < 100_000
    assert fake.stats.requests["coql"] > 0  # the rows in flight were looked up before anything was resent
    contacts = fake.world.records_of("Contacts")
    assert len(contacts) == 100_000  # 50,000 updated, 50,000 inserted: none twice
    assert sorted(r.email or "" for r in contacts) == sorted(f"p{n}@example.net" for n in range(100_000))
    assert all(r.name == f"Person {r.email[1:].split('@')[0]}" for r in contacts if r.email)  # type: ignore[index]
    writes_by_record: dict[str, Any] = dict(fake.stats.record_writes)
    assert len(writes_by_record) == 100_000 and set(writes_by_record.values()) == {1}, "a row written twice"
    assert set(existing) <= set(writes_by_record)
    assert "resuming from" in log.read_text()
