"""A backfill run from library code is SIGKILLed at random moments, resumed, and every row lands exactly once.

The worker is a process of its own running ``zcrm_async.backfill.run`` (no CLI); FakeZoho serves from this test's
process, so it outlives every kill and counts each Link Deal to Emails item it is sent (``link_writes``): a count
of 1 for every email means none was sent twice, whatever moment the kills hit, and none was lost.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import make_world
from tests.journal_watch import read_journal, wait_for, wait_or_end
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]


def _worker(url: str, rows: Path, journal: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.backfill.kill_worker", url, str(rows), str(journal)],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip


def _states(journal: Path) -> dict[str, int]:
    rows = read_journal(journal, "SELECT state, COUNT(*) FROM items_readable GROUP BY state")
    return dict(rows or [])


def _wait_for_sending(journal: Path, done_before: int, proc: subprocess.Popen[bytes]) -> None:
    """Until more rows are done than before, so the kill lands while requests are going out."""
    wait_for(lambda: _states(journal).get("done", 0) > done_before, proc, journal, "the backfill made no progress")


def test_a_library_backfill_killed_and_resumed_sends_every_row_exactly_once(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(latency=0.05))
    rows = make_world(fake, contacts=200, emails=3)
    rows_path = tmp_path / "rows.json"
    rows_path.write_text(json.dumps(rows), encoding="utf-8")
    journal, log = tmp_path / "links.journal.sqlite", tmp_path / "worker.log"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    killed = in_flight_at_kill = 0
    with fake.serving_in_thread() as url:
        # Three kills at random moments; up to five more while none has yet caught a row in flight (a kill that
        # lands between batches proves nothing). Each run makes progress before its kill, so the loop ends.
        for _ in range(8):
            if killed >= 3 and in_flight_at_kill:
                break
            proc = _worker(url, rows_path, journal, log)
            _wait_for_sending(journal, _states(journal).get("done", 0), proc)
            wait_or_end(proc, rng.uniform(0.0, 0.3))
            if proc.poll() is not None:
                break  # it finished: nothing left to kill
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            killed += 1
            in_flight_at_kill += _states(journal).get("in_flight", 0)
        final = _worker(url, rows_path, journal, log)
        wait_for(lambda: False, final, journal, "the final run stalled")
        assert final.wait() == 0, f"seed {seed}: {log.read_text()[-3000:]}"
    assert killed >= 1 and in_flight_at_kill >= 1, f"seed {seed}: no kill left a row in flight"

    # The server: every email linked to its deal, each sent exactly once.
    assert {row["message_id"]: fake.link_of(row["message_id"]) for row in rows} == {
        row["message_id"]: row["deal_id"] for row in rows
    }, f"seed {seed}"
    sent = fake.stats.link_writes
    twice = {message_id: n for message_id, n in sent.items() if n != 1}
    assert not twice and set(sent) == {row["message_id"] for row in rows}, f"seed {seed}: sent twice {twice}"

    # The journal: every row done, SUCCESS.
    with sqlite3.connect(journal) as db:
        final_states = db.execute("SELECT state, code, COUNT(*) FROM items_readable GROUP BY state, code").fetchall()
    assert final_states == [("done", "SUCCESS", len(rows))], f"seed {seed}: {final_states}"
    print(f"seed {seed}: {killed} kills, {in_flight_at_kill} rows in flight at the kills")
