"""A backfill that has to stop mid-run, through the real CLI in a subprocess: the day's credits run out, the journal
fails (a corrupt page, a full disk), or another run holds the journal under another name.

Each case checks the same promise: one line and a documented exit code, no traceback, nothing marked done that
did not happen, and the same command run again finishes the job without sending anything twice.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import connection_args, make_world, write_csv
from zcrm_async.backfill import EMAIL_LAYOUT, Journal

# private on purpose: the CLI's exit-code table (README's), to check the code the process ends with
from zcrm_async.cli._exit import EXIT_CREDITS, EXIT_JOURNAL
from zcrm_async.outcomes import TRANSIENT
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

DAY = 86_400.0


class Clock:
    """The fake's hand-driven clock: its credits come back when the test says a day has passed."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def _cli(
    args: list[str], *, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``zcrm-async ARGS`` in its own process; the fake keeps serving on this loop meanwhile."""
    command = [sys.executable, "-m", "zcrm_async.cli", *args]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, capture_output=True, text=True, timeout=60, preexec_fn=preexec, check=False)

    return await anyio.to_thread.run_sync(run)


def _states(journal: Path) -> dict[int, tuple[str, str | None]]:
    """line -> (state, code), read as another process would."""
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        return {line: (state, code) for line, state, code in db.execute("SELECT line, state, code FROM items_readable")}


def _check_nothing_done_that_did_not_happen(
    fake: FakeZoho, rows: list[dict[str, str]], states: dict[int, tuple[str, str | None]]
) -> None:
    for line, row in enumerate(rows, start=2):
        state, code = states.get(line, ("pending", None))
        linked = fake.link_of(row["message_id"]) == row["deal_id"]
        if state == "done" and code == "SUCCESS":
            assert linked, f"line {line} is done but its email is not linked"
        elif state == "done":  # a 429 the client gave up on before the run stopped: the rerun tries it again
            assert code in TRANSIENT, (line, state, code)
        elif state == "pending":
            assert not linked, f"line {line} is pending but its email was linked"


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr


async def test_spent_credits_stop_the_run_cleanly_and_the_rerun_continues(tmp_path: Path) -> None:
    clock = Clock()
    async with FakeZoho(FakeConfig(daily_credits=100, clock=clock)) as fake:
        rows = make_world(fake, contacts=150, emails=2)  # 150 link requests; the org has 100 credits a day
        path = write_csv(tmp_path / "links.csv", rows)
        report = tmp_path / "report.jsonl"
        args = ["backfill", "link", str(path), "--report", str(report), "--batch-size", "4", "-q",
                *connection_args(fake)]  # fmt: skip
        first = await _cli(args)
        assert first.returncode == EXIT_CREDITS, first.stderr
        _no_traceback(first)
        assert "credits for the day are spent" in first.stderr and "run the same command again" in first.stderr.lower()
        journal = tmp_path / "links.csv.journal.sqlite"
        states = _states(journal)
        _check_nothing_done_that_did_not_happen(fake, rows, states)
        done = sum(state == "done" for state, _ in states.values())
        assert 0 < done < len(rows)
        assert sum(state == "pending" for state, _ in states.values()) > 0
        assert len(report.read_text().splitlines()) == len(rows)  # the report says where every item stands

        clock.now += DAY + 1  # the day's credits have aged out of Zoho's window
        second = await _cli(args)
        assert second.returncode == 0, second.stderr
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
        assert {code for _, code in _states(journal).values()} == {"SUCCESS"}
        # Every email started unlinked: "already linked to this deal" could only mean a second send of ours.
        assert "already linked to this deal" not in report.read_text()


async def test_a_corrupt_journal_page_is_one_line_and_exit_code(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=30, emails=20)
        path = write_csv(tmp_path / "links.csv", rows)
        args = ["backfill", "link", str(path), "-q", *connection_args(fake)]
        assert (await _cli(args)).returncode == 0
        journal = tmp_path / "links.csv.journal.sqlite"
        size = journal.stat().st_size
        assert size > 16 * 4096
        with journal.open("r+b") as db:  # overwrite pages in the middle with garbage
            db.seek(size // 2)
            db.write(b"\xff" * 8 * 4096)
        again = await _cli(args)
        assert again.returncode == EXIT_JOURNAL, again.stderr
        _no_traceback(again)
        lines = again.stderr.strip().splitlines()
        assert len(lines) == 1 and str(journal) in lines[0] and "malformed" in lines[0], again.stderr


async def test_a_full_disk_is_one_line_and_nothing_is_marked_done_that_was_not(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=60, emails=10)
        path = write_csv(tmp_path / "links.csv", rows)
        args = ["backfill", "link", str(path), "-q", "--batch-size", "20", *connection_args(fake)]

        def small_disk() -> None:  # files of this process may not grow past 500 KiB: the journal's disk is full
            resource.setrlimit(resource.RLIMIT_FSIZE, (500 * 1024, 500 * 1024))

        full = await _cli(args, preexec=small_disk)
        assert full.returncode == EXIT_JOURNAL, full.stderr
        _no_traceback(full)
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1 and "the journal" in lines[0] and "nothing was lost" in lines[0], full.stderr
        journal = tmp_path / "links.csv.journal.sqlite"
        states = _states(journal)
        done = sum(state == "done" for state, _ in states.values())
        # The limit is meant to let the rows be recorded and fill the disk while sending (if the journal's layout
        # changes a lot, move it so this holds again).
        assert len(states) == len(rows) and 0 < done < len(rows), (len(states), done)
        _check_nothing_done_that_did_not_happen(fake, rows, states)

        again = await _cli(args)
        assert again.returncode == 0, again.stderr
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
        assert {code for _, code in _states(journal).values()} == {"SUCCESS"}


async def test_a_symlink_to_a_running_runs_journal_is_refused(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        real = tmp_path / "runs" / "j.sqlite"
        real.parent.mkdir()
        alias = tmp_path / "alias.sqlite"
        alias.symlink_to(real)
        os.chdir(tmp_path)
        with Journal(real, EMAIL_LAYOUT):  # a running run holds the journal under its real name
            refused = await _cli(["backfill", "link", str(path), "--journal", "alias.sqlite", *connection_args(fake)])
        assert refused.returncode == 2, refused.stderr
        _no_traceback(refused)
        assert "another run is using the journal" in refused.stderr
        assert fake.stats.requests["link_emails"] == 0
        assert not (tmp_path / "alias.sqlite-wal").exists()  # it never opened the database under the other name
