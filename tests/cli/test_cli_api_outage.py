"""Zoho's API goes away mid-backfill: the run stops cleanly (exit 69, one line) instead of failing every item left,
and the same command continues once the API is back, sending nothing twice."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.cli.test_cli_kill import CREDENTIALS, _cli, _server_links, _unlinked_rows, _wait_for_progress
from tests.cli_helpers import write_csv
from tests.journal_watch import count_done

# private on purpose: the CLI's exit-code table (README's), to check the code the process ends with
from zcrm_async.cli._exit import EXIT_UNREACHABLE

pytestmark = pytest.mark.timeout(120)


def _start_fake() -> tuple[subprocess.Popen[str], str]:
    """The fake in its own process (so it can die), seeded the same way every time."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.testing", "--port", "0", "--latency-ms", "40",
         "--seed-contacts", "600", "--seed-emails-per-contact", "2", "--seed", "11"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "the fake exited before listening"
        if line.startswith("FakeZoho listening on "):
            return proc, line.split()[-1]
    raise AssertionError("the fake did not listen within 30 s")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def _backfill(path: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    report = path.with_name(path.name + ".report")
    return _cli(path, report, url, log, "--batch-size", "20", "--no-token-cache", "--unreachable-after", "3")


def test_the_api_dying_mid_run_stops_it_and_the_rerun_continues(tmp_path: Path) -> None:
    fake, url = _start_fake()
    try:
        rows = anyio.run(_unlinked_rows, url)
        path = write_csv(tmp_path / "links.csv", rows, ["contact_id", "message_id", "deal_id", "owner_id"])
        journal, log = tmp_path / "links.csv.journal.sqlite", tmp_path / "first.log"
        run = _backfill(path, url, log)
        try:
            _wait_for_progress(journal, 0, run)
            fake.send_signal(signal.SIGKILL)  # the API is gone: connections are refused from here on
            assert run.wait(timeout=90) == EXIT_UNREACHABLE, log.read_text()[-3000:]
        finally:
            if run.poll() is None:
                run.kill()
                run.wait(timeout=10)
    finally:
        _stop(fake)
    said = log.read_text()
    assert "Traceback" not in said, said[-3000:]
    assert "answered nothing for 3 s" in said and "run the same command again" in said
    assert CREDENTIALS["client_secret"] not in said and CREDENTIALS["refresh_token"] not in said
    with sqlite3.connect(journal) as db:
        done = {code for (code,) in db.execute("SELECT DISTINCT code FROM items_readable WHERE state = 'done'")}
        left = db.execute("SELECT COUNT(*) FROM items_readable WHERE state != 'done'").fetchone()[0]
        succeeded = [
            message_id
            for (message_id,) in db.execute("SELECT message_id FROM items_readable WHERE code = 'SUCCESS'")
        ]
    assert succeeded and left > 0, "the run should stop part way, with items left"
    assert done <= {"SUCCESS", "TRANSPORT_ERROR"}, done

    # The API is back (a fresh server seeded alike, so nothing this run linked is there): the same command links
    # every item that was not done, and sends nothing for the ones that were.
    fake, url = _start_fake()
    try:
        again_log = tmp_path / "again.log"
        assert _backfill(path, url, again_log).wait(timeout=90) == 0, again_log.read_text()[-3000:]
        links = anyio.run(_server_links, url, rows)
    finally:
        _stop(fake)
    resent = set(succeeded) & {message_id for message_id, deal in links.items() if deal is not None}
    assert not resent, f"{len(resent)} items done before the outage were sent again"
    assert all(links[row["message_id"]] == row["deal_id"] for row in rows if row["message_id"] not in succeeded)
    assert count_done(journal) == len(rows)
