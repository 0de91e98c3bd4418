"""Redis killed or paused in the middle of a backfill, through the real CLI (a subprocess, ``--redis-url``) on a
redis-server of the test's own, against a FakeZoho slow enough that the outage lands while requests go out.

Each case checks the same promise: the run stops within a bounded time with one line naming Redis and a documented
exit code, no traceback and no secret; the journal marks nothing done that did not happen; and the same command,
run again once Redis is back, finishes with exit 0 without sending any email's link twice (issue 13, point 7).
"""

from __future__ import annotations

import io
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import REFRESH, SECRET, connection_args, make_world, write_csv
from tests.conftest import OwnRedis, _free_port
from zcrm_async.cli import main

# private on purpose: the CLI's error handler and output, to see what an outage prints; and its exit-code table
from zcrm_async.cli._app import _ErrorHandler
from zcrm_async.cli._exit import EXIT_REDIS
from zcrm_async.cli._output import Output
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

CONTACTS, EMAILS = 120, 2  # one request of 2 items per contact; 5 at a time on the free edition's budget
LATENCY = 0.1
#: Links done before Redis goes away: the run is well under way, and far from its end.
DONE_BEFORE_OUTAGE = 30
PASSWORD = "redis-pass-DO-NOT-PRINT-5e6f"
#: --redis-timeout for the paused case: how long a Redis command may take before the run gives up.
REDIS_TIMEOUT = 2.0
#: Safety bounds only (no assertion on how fast anything is).
STOP_WITHIN = 30.0
RUN_WITHIN = 60.0


@pytest.fixture(autouse=True)
def no_cli_left_running() -> Iterator[None]:
    yield
    while Cli.started:
        process = Cli.started.pop()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def locked_redis() -> Iterator[OwnRedis]:
    """``own_redis`` with a password (the URL holds a secret that no output may show), always gone at the end."""
    server = OwnRedis(_free_port(), password=PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class Cli:
    """One ``zcrm-async`` process; its output goes to files (a pipe nobody reads could block it)."""

    #: Every process started, so a failing test leaves none running.
    started: list[subprocess.Popen[bytes]] = []

    def __init__(self, args: list[str], folder: Path, name: str) -> None:
        self.stdout_path, self.stderr_path = folder / f"{name}.out", folder / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "zcrm_async.cli", *args], stdout=out, stderr=err)
        Cli.started.append(self.process)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    async def wait(self, within: float) -> int:
        """The exit code; fails the test (and kills the process) if it is still running after ``within`` s."""
        deadline = time.monotonic() + within
        while (code := self.process.poll()) is None:
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait(timeout=10)
                pytest.fail(f"the CLI did not stop within {within:.0f} s; stderr: {self.stderr[-2000:]}")
            await anyio.sleep(0.05)  # the fake serves on this loop meanwhile
        return code


async def _wait_until(done: Callable[[], bool], cli: Cli, what: str) -> None:
    deadline = time.monotonic() + 20
    while not done():
        assert cli.process.poll() is None, f"the CLI ended before {what}: {cli.stderr[-2000:]}"
        assert time.monotonic() < deadline, f"no {what} within 20 s"
        await anyio.sleep(0.02)


def _states(journal: Path) -> dict[int, tuple[str, str | None]]:
    """line -> (state, code), read as another process would."""
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        return {line: (state, code) for line, state, code in db.execute("SELECT line, state, code FROM items_readable")}


def _check_stopped_cleanly(cli: Cli, code: int, fake: FakeZoho, rows: list[dict[str, str]], journal: Path) -> None:
    """One line naming Redis, the documented code, no traceback or secret, and a journal that tells the truth."""
    assert code == EXIT_REDIS, cli.stderr
    err, out = cli.stderr, cli.stdout
    for text in (err, out):
        assert "Traceback" not in text, err
        for secret in (SECRET, REFRESH, PASSWORD):
            assert secret not in text
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Redis" in lines[0] and "run the same command again" in lines[0], err
    states = _states(journal)
    for line, row in enumerate(rows, start=2):
        state, result = states[line]
        linked = fake.link_of(row["message_id"]) == row["deal_id"]
        if state == "done":  # a request Redis never let out is not a failure: its item stays pending
            assert result == "SUCCESS" and linked, (line, state, result)
        elif state == "pending":
            assert not linked, f"line {line} is pending but its email was linked"
    done = sum(state == "done" for state, _ in states.values())
    # (Requests answered just as the run stopped may not be recorded: they stay in flight, read back next time.)
    assert 0 < done < len(rows), done


async def _rerun_finishes(args: list[str], folder: Path, fake: FakeZoho, rows: list[dict[str, str]]) -> None:
    again = Cli(args, folder, "rerun")
    assert await again.wait(RUN_WITHIN) == 0, again.stderr
    assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
    resent = {message_id: count for message_id, count in fake.stats.link_writes.items() if count != 1}
    assert not resent, f"emails whose link was sent more than once: {resent}"
    assert {code for _, code in _states(folder / "links.csv.journal.sqlite").values()} == {"SUCCESS"}


def _args(path: Path, fake: FakeZoho, redis: OwnRedis) -> list[str]:
    return [
        "backfill", "link", str(path), "-q", "--edition", "free", "--batch-size", "10", "--redis-url", redis.url,
        "--redis-timeout", str(REDIS_TIMEOUT), "--no-token-cache", *connection_args(fake),
    ]  # fmt: skip


def _fake() -> FakeZoho:
    return FakeZoho(FakeConfig(latency=LATENCY, client_secret=SECRET, refresh_token=REFRESH))


@pytest.mark.parametrize("outage", ["killed", "paused"])
async def test_redis_failing_mid_run_stops_with_one_line_and_the_rerun_finishes(
    tmp_path: Path, locked_redis: OwnRedis, outage: str
) -> None:
    """Killed: Redis comes back empty (as after a restart without persistence). Paused: the run stops within
    --redis-timeout, and Redis resumes with what it held (slots the stopped run could not give back expire with
    their lease)."""
    async with _fake() as fake:
        rows = make_world(fake, contacts=CONTACTS, emails=EMAILS)
        path = write_csv(tmp_path / "links.csv", rows)
        args = _args(path, fake, locked_redis)
        first = Cli(args, tmp_path, "first")
        await _wait_until(lambda: len(fake.links) >= DONE_BEFORE_OUTAGE, first, "links")
        stop, restore = (locked_redis.kill, locked_redis.start) if outage == "killed" else (
            locked_redis.pause, locked_redis.resume
        )
        stop()
        try:
            code = await first.wait(STOP_WITHIN)
        finally:
            restore()
        _check_stopped_cleanly(first, code, fake, rows, tmp_path / "links.csv.journal.sqlite")
        await _rerun_finishes(args, tmp_path, fake, rows)


async def test_redis_dead_from_the_start_is_one_line_and_leaves_no_journal(
    tmp_path: Path, locked_redis: OwnRedis
) -> None:
    async with _fake() as fake:
        rows = make_world(fake, contacts=2, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        locked_redis.kill()
        dead = Cli(_args(path, fake, locked_redis), tmp_path, "dead")
        code = await dead.wait(STOP_WITHIN)
    assert code == EXIT_REDIS, dead.stderr
    lines = dead.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use Redis" in lines[0] and "Traceback" not in dead.stderr, dead.stderr
    assert PASSWORD not in dead.stderr + dead.stdout
    assert all(fake.link_of(row["message_id"]) is None for row in rows)
    assert not (tmp_path / "links.csv.journal.sqlite").exists()


def test_a_redis_timeout_outside_its_range_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "links.csv", [])
    for wrong in ("0", "0.5", "nan", "601"):
        assert main(["backfill", "link", str(path), "--redis-timeout", wrong]) == 2
        assert "--redis-timeout must be between 1 and 600 seconds" in capsys.readouterr().err


def test_redis_housekeeping_warnings_wait_for_the_end_of_the_run_and_come_once_each() -> None:
    def warning(logger: str, message: str) -> logging.LogRecord:
        return logging.getLogger(logger).makeRecord(logger, logging.WARNING, __file__, 0, message, (), None)

    err = io.StringIO()
    handler = _ErrorHandler(Output(stderr=err))
    for _ in range(3):
        handler.handle(warning("zcrm_async.redis", "could not release a slot in Redis"))
    handler.handle(warning("zcrm_async", "token trouble"))
    assert err.getvalue().splitlines() == ["zcrm-async: WARNING: token trouble"]  # at once
    handler.show_held()  # the run ended, not for Redis
    assert err.getvalue().splitlines()[1:] == ["zcrm-async: WARNING: could not release a slot in Redis (3 times)"]

    handler.handle(warning("zcrm_async.redis", "could not renew slot leases in Redis"))
    handler.show_held(unless=True)  # the run stopped for Redis and said so in its line
    handler.show_held()
    assert len(err.getvalue().splitlines()) == 2
