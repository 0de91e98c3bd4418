"""``--unreachable-after N`` against an API that accepts connections and never answers: the run stops in about N
seconds (issue 21, point 8), not after the client's request timeouts (two of 60 s: 121 s before), and the rerun
finishes the job once the API answers again. Through the real CLI as a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import make_world, write_csv
from tests.journal_watch import count_done

# private on purpose: the CLI's exit-code table (README's), to check the code the process ends with
from zcrm_async.cli._exit import EXIT_UNREACHABLE
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(150)]

#: The client's request timeout (``Timeouts.total``): a run that stops before it fired was stopped by the watch.
REQUEST_TIMEOUT = 60.0


def _backfill(fake: FakeZoho, path: Path, log: Path) -> subprocess.Popen[bytes]:
    cfg = fake.config
    command = [
        sys.executable, "-m", "zcrm_async.cli", "backfill", "link", str(path), "--api-domain", fake.url,
        "--accounts-url", fake.url, "--client-id", cfg.client_id, "--batch-size", "10", "--no-token-cache",
        "--unreachable-after", "3", "-q",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env |= {"ZOHO_CLIENT_SECRET": cfg.client_secret, "ZOHO_REFRESH_TOKEN": cfg.refresh_token}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


async def _ended(proc: subprocess.Popen[bytes], within: float) -> int | None:
    """The exit code, or None (the process killed) when it did not end ``within`` seconds."""
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return None
        await anyio.sleep(0.05)
    return proc.returncode


async def test_an_api_that_never_answers_stops_the_run_in_about_the_time_given(tmp_path: Path) -> None:
    async with FakeZoho(FakeConfig(latency=0.02)) as fake:
        rows = make_world(fake, contacts=60, emails=5)
        path = write_csv(tmp_path / "links.csv", rows)
        journal, log = tmp_path / "links.csv.journal.sqlite", tmp_path / "first.log"
        run = _backfill(fake, path, log)
        deadline = time.monotonic() + 30
        while count_done(journal) == 0 and run.poll() is None:
            assert time.monotonic() < deadline, "the backfill made no progress in 30 s"
            await anyio.sleep(0.02)
        assert run.poll() is None, "the backfill ended before the API stopped answering"
        fake.set_faults(latency=3600.0)  # connections are accepted, requests read, and nothing is ever answered
        code = await _ended(run, within=REQUEST_TIMEOUT - 10)
        said = log.read_text()
        assert code == EXIT_UNREACHABLE, f"not stopped before the request timeout (exit {code}): {said[-2000:]}"
        assert "answered nothing for 3 s" in said and "Traceback" not in said
        with sqlite3.connect(journal) as db:
            left = db.execute("SELECT COUNT(*) FROM items_readable WHERE state != 'done'").fetchone()[0]
        assert left > 0

        fake.set_faults(latency=0.0)  # the API answers again: the same command finishes the job
        again = tmp_path / "again.log"
        assert await _ended(_backfill(fake, path, again), within=60) == 0, again.read_text()[-2000:]
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
