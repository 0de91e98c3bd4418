"""SIGKILL the backfill at random moments, run it again, and check nothing was lost or done twice.

The fake runs as its own process (as a real Zoho would outlive the CLI); the CLI runs as a subprocess and is
killed three times, then run to completion. The checks read the server through the API and the journal file.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import write_csv
from tests.journal_watch import count_done, wait_for, wait_or_end
from zcrm_async import Budget, ZohoCRM
from zcrm_async.models import LinkedRecord

# A guard against a hang only: every wait below ends with the run it waits on, or fails once the journal has gone
# a minute without a write (tests/journal_watch.py), so a loaded machine slows these tests without failing them.
pytestmark = pytest.mark.timeout(240)

CONTACTS = 1500
LATENCY_MS = 40
CREDENTIALS = {
    "client_id": "fake-client-id",
    "client_secret": "fake-client-secret",
    "refresh_token": "fake-refresh-token",
}


@pytest.fixture
def fake_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.testing", "--port", "0", "--latency-ms", str(LATENCY_MS),
         "--seed-contacts", str(CONTACTS), "--seed-emails-per-contact", "2", "--seed", "11"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the fake exited before listening"
            if line.startswith("FakeZoho listening on "):
                url = line.split()[-1]
        assert url is not None
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _client(url: str) -> ZohoCRM:
    return ZohoCRM(**CREDENTIALS, api_domain=url, accounts_url=url, budget=Budget(concurrency=20))


async def _unlinked_rows(url: str) -> list[dict[str, str]]:
    """Link rows for every email the seeding left unlinked (sent mail), to the contact's own deal."""
    async with _client(url) as crm:
        contacts = {r["id"]: r["External_Contact_ID"] async for r in crm.records.iterate(
            "Contacts", fields=["External_Contact_ID"])}  # fmt: skip
        deals = {r["External_Deal_ID"]: r["id"] async for r in crm.records.iterate(
            "Deals", fields=["External_Deal_ID"])}  # fmt: skip
        rows = []
        async with crm.emails.iterate_many("Contacts", list(contacts), concurrency=20) as stream:
            async for contact_id, email in stream:
                if email.linked_record is None and email.owner is not None:
                    number = contacts[contact_id].removeprefix("extcontact")
                    rows.append({"contact_id": contact_id, "message_id": email.message_id,
                                 "deal_id": deals[f"extdeal{number}.1"], "owner_id": email.owner.id})  # fmt: skip
        return rows


async def _server_links(url: str, rows: list[dict[str, str]]) -> dict[str, str | None]:
    """Where each email is linked now, from each contact's Get Emails list (the list shows links)."""
    found: dict[str, str | None] = {}
    by_contact: dict[str, list[str]] = {}
    for row in rows:
        by_contact.setdefault(row["contact_id"], []).append(row["message_id"])
    async with _client(url) as crm, anyio.create_task_group() as tg:
        slots = anyio.Semaphore(20)

        async def read(contact_id: str, message_ids: list[str]) -> None:
            async with slots:
                emails = await crm.emails.lookup("Contacts", contact_id, message_ids)
            for message_id, email in emails.items():
                found[message_id] = email.linked_record.id if isinstance(email.linked_record, LinkedRecord) else None

        for contact_id, message_ids in by_contact.items():
            tg.start_soon(read, contact_id, message_ids)
    return found


def _cli(path: Path, report: Path, url: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``backfill link`` as a subprocess writing to ``log``; ``extra`` flags come last (and win)."""
    command = [
        sys.executable, "-m", "zcrm_async.cli", "backfill", "link", str(path), "--report", str(report),
        "--api-domain", url, "--accounts-url", url, "--edition", "free", "--batch-size", "50",
        "--client-id", CREDENTIALS["client_id"], *extra,
    ]  # fmt: skip
    env = {**os.environ, "ZOHO_CLIENT_SECRET": CREDENTIALS["client_secret"],
           "ZOHO_REFRESH_TOKEN": CREDENTIALS["refresh_token"]}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_for_progress(journal: Path, before: int, proc: subprocess.Popen[bytes]) -> None:
    """Until more rows are done than ``before`` (or the run ends): woken by the journal's commits."""
    wait_for(lambda: count_done(journal) > before, proc, journal, "the backfill made no progress")


def _wait_for_end(proc: subprocess.Popen[bytes], journal: Path) -> None:
    """Until the run ends, however long a loaded machine makes it, while it keeps writing its journal."""
    wait_for(lambda: False, proc, journal, "the final run stalled")


def test_killed_three_times_then_resumed_ends_exactly_once(fake_url: str, tmp_path: Path) -> None:
    rows = anyio.run(_unlinked_rows, fake_url)
    assert len(rows) > 500, "the seeded world should leave hundreds of unlinked emails"
    path = write_csv(tmp_path / "links.csv", rows, ["contact_id", "message_id", "deal_id", "owner_id"])
    report, log = tmp_path / "report.jsonl", tmp_path / "cli.log"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    killed = 0
    journal = tmp_path / "links.csv.journal.sqlite"
    for _ in range(3):
        before = count_done(journal)
        proc = _cli(path, report, fake_url, log)
        _wait_for_progress(journal, before, proc)  # so each kill lands while requests are going out
        wait_or_end(proc, rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
    final = _cli(path, report, fake_url, log)
    _wait_for_end(final, journal)
    assert final.wait() == 0, f"seed {seed}: {log.read_text()[-3000:]}"
    assert killed >= 1, f"seed {seed}: every run finished before its kill"

    # The server: every email linked to the intended deal.
    links = anyio.run(_server_links, fake_url, rows)
    wrong = [row for row in rows if links[row["message_id"]] != row["deal_id"]]
    assert not wrong, f"seed {seed}: {len(wrong)} emails not linked as asked"

    # The journal: every line final exactly once, all SUCCESS.
    with sqlite3.connect(journal) as db:
        states = db.execute("SELECT state, code, COUNT(*) FROM items_readable GROUP BY state, code").fetchall()
        lines = [line for (line,) in db.execute("SELECT line FROM items ORDER BY line")]
    assert states == [("done", "SUCCESS", len(rows))], f"seed {seed}: {states}"
    assert lines == list(range(2, len(rows) + 2))
    reported = [json.loads(line) for line in report.read_text().splitlines()]
    assert sorted(r["message_id"] for r in reported) == sorted(row["message_id"] for row in rows)
    assert {r["code"] for r in reported} == {"SUCCESS"}
    # Every email started unlinked, so "already linked to this deal" could only mean a second send of ours.
    assert not [r for r in reported if "already linked to this deal" in str(r["message"])], f"seed {seed}"
    print(f"seed {seed}: {killed} kills, {sum('interrupted' in str(r['message']) for r in reported)} read back")


def test_ctrl_c_stops_cleanly_records_what_was_answered_and_the_rerun_sends_nothing_twice(
    fake_url: str, tmp_path: Path
) -> None:
    """SIGINT (Ctrl-C) mid-run: exit 130, one line saying how to resume, no traceback; the answers that arrived
    are recorded before the process ends, and the rerun finishes with every email linked once."""
    rows = anyio.run(_unlinked_rows, fake_url)
    path = write_csv(tmp_path / "links.csv", rows, ["contact_id", "message_id", "deal_id", "owner_id"])
    report, journal = tmp_path / "report.jsonl", tmp_path / "links.csv.journal.sqlite"
    for attempt in range(2):
        log = tmp_path / f"interrupted-{attempt}.log"
        before = count_done(journal)
        proc = _cli(path, report, fake_url, log)
        _wait_for_progress(journal, before, proc)
        if proc.poll() is not None:
            break  # finished before the interrupt: the final checks below still hold
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130, log.read_text()[-3000:]
        said = log.read_text()
        assert "Traceback" not in said, said[-3000:]
        assert "interrupted; run the same command again to resume" in said
        assert re.search(r"journal\.sqlite: \d+ done, \d+ in flight, read back first, \d+ pending\)", said), said
        with sqlite3.connect(journal) as db:
            codes = dict(db.execute("SELECT state, COUNT(*) FROM items_readable GROUP BY state").fetchall())
            done_codes = {
                code for (code,) in db.execute("SELECT DISTINCT code FROM items_readable WHERE state = 'done'")
            }
        assert codes.get("done", 0) > before and done_codes == {"SUCCESS"}, codes
    final_log = tmp_path / "final.log"
    final = _cli(path, report, fake_url, final_log)
    _wait_for_end(final, journal)
    assert final.wait() == 0, final_log.read_text()[-3000:]
    links = anyio.run(_server_links, fake_url, rows)
    assert [row for row in rows if links[row["message_id"]] != row["deal_id"]] == []
    reported = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(reported) == len(rows) and {r["code"] for r in reported} == {"SUCCESS"}
    # Every email started unlinked: "already linked to this deal" could only mean a second send of ours.
    assert not [r for r in reported if "already linked to this deal" in str(r["message"])]
