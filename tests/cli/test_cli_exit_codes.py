"""Every exit code, provoked through the real CLI (a subprocess), one cause each; the README's table lists them.

Each code is asserted by its number, as a script calling ``zcrm-async`` would test it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import connection_args, make_world, write_csv
from tests.journal_watch import count_done, wait_for

# private on purpose: the exit-code table itself, the unit under test
from zcrm_async.cli import _exit
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def fake() -> Iterator[FakeZoho]:
    served = FakeZoho(FakeConfig(latency=0.02))
    with served.serving_in_thread():
        yield served


def _start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ZCRM_TOKEN_CACHE": "off", "XDG_CONFIG_HOME": "/nonexistent-zcrm-config"}
    return subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=ROOT,
    )  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    proc = _start(*args)
    out, err = proc.communicate(timeout=90)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _wait_for_progress(journal: Path, proc: subprocess.Popen[str]) -> None:
    wait_for(lambda: count_done(journal) > 0, proc, journal, "no progress")


def test_the_codes_are_distinct_and_the_readme_table_lists_each() -> None:
    codes = {name: getattr(_exit, name) for name in _exit.__all__}
    assert len(set(codes.values())) == len(codes), codes
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README, re.M))
    assert sorted(map(int, table)) == sorted(codes.values())


def test_0_every_item_succeeded(fake: FakeZoho, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=2, emails=2))
    assert _cli("backfill", "link", str(path), "-q", *connection_args(fake)).returncode == 0


def test_1_some_items_failed(fake: FakeZoho, tmp_path: Path) -> None:
    rows = make_world(fake, contacts=2, emails=2)
    rows[0]["deal_id"] = "5843104000000000001"  # no such deal
    path = write_csv(tmp_path / "links.csv", rows)
    done = _cli("backfill", "link", str(path), "-q", *connection_args(fake))
    assert done.returncode == 1, done.stderr
    assert "line 2: INVALID_DATA" in done.stderr


def test_2_bad_usage(tmp_path: Path) -> None:
    done = _cli("backfill", "link", str(tmp_path / "nope.csv"), "--client-id", "1")
    assert done.returncode == 2 and "nope.csv" in done.stderr


def test_68_the_api_stops_answering_mid_run(fake: FakeZoho, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=150, emails=2))
    journal = tmp_path / "links.csv.journal.sqlite"
    run = _start("backfill", "link", str(path), "-q", "--batch-size", "5", "--unreachable-after", "1",
                 *connection_args(fake))  # fmt: skip
    _wait_for_progress(journal, run)
    fake.set_faults(drop_rate=1.0)  # every request from here on goes unanswered
    _, err = run.communicate(timeout=90)
    assert run.returncode == 68, err
    assert "answered nothing for 1 s" in err


def test_69_redis_fails(fake: FakeZoho, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    done = _cli("backfill", "link", str(path), "-q", "--redis-url", f"redis://127.0.0.1:{_closed_port()}/0",
                "--redis-timeout", "1", *connection_args(fake))  # fmt: skip
    assert done.returncode == 69, done.stderr
    assert "Redis" in done.stderr


def test_74_the_journal_fails(fake: FakeZoho, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=30, emails=20))
    args = ("backfill", "link", str(path), "-q", *connection_args(fake))
    assert _cli(*args).returncode == 0
    journal = tmp_path / "links.csv.journal.sqlite"
    size = journal.stat().st_size
    with journal.open("r+b") as db:  # pages in the middle overwritten with garbage
        db.seek(size // 2)
        db.write(b"\xff" * 8 * 4096)
    done = _cli(*args)
    assert done.returncode == 74, done.stderr


def test_75_the_days_credits_run_out(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(daily_credits=20))
    with fake.serving_in_thread():
        path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=60, emails=1))
        done = _cli("backfill", "link", str(path), "-q", "--batch-size", "4", *connection_args(fake))
    assert done.returncode == 75, done.stderr
    assert "credits for the day are spent" in done.stderr


def test_130_interrupted(fake: FakeZoho, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=200, emails=2))
    journal = tmp_path / "links.csv.journal.sqlite"
    run = _start("backfill", "link", str(path), "-q", "--batch-size", "5", *connection_args(fake))
    _wait_for_progress(journal, run)
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "interrupted" in err


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed): Redis is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
