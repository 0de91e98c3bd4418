"""A relink stopped between an unlink and the link after it never leaves an email on no deal (issue 21, point 1).

Through the real CLI as a subprocess: 4,000 rows relinked while the target deals cannot be read (the token has
no Deals read scope), so relink cannot learn before unlinking that half the targets refuse the email; SIGKILLed
five times at random moments and stopped once by the day's credits running out (exit 75), then run to the end.
Every email that was on a deal ends on one: on its target where Zoho takes the link, else back on the deal it was
on, which only the journal knew once the process that unlinked it was gone.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import make_world, write_csv
from tests.fakes import NO_DEALS_READ
from tests.journal_watch import count_done

# private on purpose: the CLI's exit-code table (README's), to check the code the process ends with
from zcrm_async.cli._exit import EXIT_CREDITS
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]

CONTACTS, EMAILS = 400, 10
LATENCY = 0.03
PLENTY = 1_000_000
#: The runs, in order: five killed at a random moment, one stopped by the credits, then one to the end.
RUNS = ("kill", "kill", "kill", "credits", "kill", "kill")
#: Kills added after RUNS only while no stop has yet landed between an unlink and its link: the random moments
#: sometimes all miss that window (seen once in a loaded run), and a test whose stops strand nothing proves nothing.
EXTRA_KILLS = 6


class Clock:
    """The fake's clock, frozen: credits spent stay spent, so the credits stop lands where the test puts it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _world(fake: FakeZoho) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Relink rows for 4,000 emails, each on its contact's deal now; and where each must end.

    Even contacts move to a second deal of theirs (Zoho takes the link); odd ones to the deal of the contact before
    them, which Zoho refuses (NOT_ALLOWED), so each of those emails must end back on its own deal."""
    rows = make_world(fake, contacts=CONTACTS, emails=EMAILS)
    own = [rows[c * EMAILS]["deal_id"] for c in range(CONTACTS)]
    moves: list[dict[str, str]] = []
    expected: dict[str, str] = {}
    for index, row in enumerate(rows):
        c = index // EMAILS
        fake.world.link_directly(row["message_id"], row["deal_id"])
        if c % 2 == 0:
            if index % EMAILS == 0:
                second = fake.add_deal(f"Second deal {c}", [row["contact_id"]])
            target = expected[row["message_id"]] = second
        else:
            target, expected[row["message_id"]] = own[c - 1], row["deal_id"]
        moves.append({**row, "deal_id": target, "deal_name": ""})
    return moves, expected


def _relink(fake: FakeZoho, path: Path, tmp_path: Path, log: Path) -> subprocess.Popen[bytes]:
    cfg = fake.config
    command = [
        sys.executable, "-m", "zcrm_async.cli", "backfill", "relink", str(path), "--report",
        str(tmp_path / "report.jsonl"), "--api-domain", fake.url, "--accounts-url", fake.url, "--client-id",
        cfg.client_id, "--batch-size", "20", "--token-cache", str(tmp_path / "tokens"), "-q",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env |= {"ZOHO_CLIENT_SECRET": cfg.client_secret, "ZOHO_REFRESH_TOKEN": cfg.refresh_token}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


async def _ended(proc: subprocess.Popen[bytes], within: float = 90.0) -> int:
    """The process's exit code, waited for on the fake's loop (which must go on serving meanwhile)."""
    deadline = time.monotonic() + within
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the run did not end within {within:g} s")
        await anyio.sleep(0.05)
    return proc.returncode


async def _progressed(journal: Path, before: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while count_done(journal) <= before and proc.poll() is None:
        assert time.monotonic() < deadline, "the relink made no progress in 30 s"
        await anyio.sleep(0.02)


async def test_a_relink_killed_five_times_and_stopped_by_credits_leaves_no_email_on_no_deal(tmp_path: Path) -> None:
    clock = Clock()
    config = FakeConfig(seed=21, scope=NO_DEALS_READ, latency=LATENCY, clock=clock, daily_credits=PLENTY)
    async with FakeZoho(config) as fake:
        moves, expected = _world(fake)
        original = {m: fake.link_of(m) for m in expected}
        path = write_csv(tmp_path / "relink.csv", moves)
        journal, log = tmp_path / "relink.csv.journal.sqlite", tmp_path / "cli.log"
        seed = random.randrange(1 << 30)
        rng = random.Random(seed)
        kills = stranded_after_a_stop = 0
        for number, step in enumerate((*RUNS, *("kill",) * EXTRA_KILLS)):
            if number >= len(RUNS) and stranded_after_a_stop > 0:
                break
            before = count_done(journal)
            if step == "credits":  # the org has a few hundred credits left today
                fake.set_daily_credits(fake.credits_used + rng.randrange(150, 400))
                run = _relink(fake, path, tmp_path, log)
                assert await _ended(run) == EXIT_CREDITS, f"seed {seed}: {log.read_text()[-3000:]}"
                fake.set_daily_credits(PLENTY)  # a day later
            else:
                run = _relink(fake, path, tmp_path, log)
                await _progressed(journal, before, run)
                await anyio.sleep(rng.uniform(0.0, 0.6))
                if run.poll() is None:
                    run.send_signal(signal.SIGKILL)
                    kills += 1
                await _ended(run)
            stranded_after_a_stop += sum(1 for m in expected if fake.link_of(m) is None)
        final_log = tmp_path / "final.log"
        assert await _ended(_relink(fake, path, tmp_path, final_log)) == 1, final_log.read_text()[-3000:]
        where = {message_id: fake.link_of(message_id) for message_id in expected}

    assert kills >= 5, f"seed {seed}: only {kills} runs were still going when their kill came"
    # The stops did land between unlinks and links (else the test would prove nothing)...
    assert stranded_after_a_stop > 0, f"seed {seed}: no stop left an email on no deal"
    # ...and in the end no email is on no deal, and each is where it should be.
    on_no_deal = [m for m, deal in where.items() if deal is None]
    assert not on_no_deal, f"seed {seed}: {len(on_no_deal)} emails on no deal"
    wrong = {m: (deal, expected[m]) for m, deal in where.items() if deal != expected[m]}
    assert not wrong, f"seed {seed}: {len(wrong)} emails not where they should be, e.g. {list(wrong.items())[:3]}"

    with sqlite3.connect(journal) as db:
        states = dict(db.execute("SELECT code, COUNT(*) FROM items_readable GROUP BY code").fetchall())
    assert states == {"SUCCESS": len(moves) // 2, "NOT_ALLOWED": len(moves) // 2}, f"seed {seed}: {states}"
    report = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert len(report) == len(moves)
    # Every email was taken off its own deal by an unlink; the report names that deal, refused or not.
    wrong_previous = [line for line in report if line.get("previous_deal_id") != original[str(line["message_id"])]]
    assert not wrong_previous, f"seed {seed}: {len(wrong_previous)} lines, e.g. {wrong_previous[:2]}"
    refused = [line for line in report if line["code"] == "NOT_ALLOWED"]
    assert all(f"its link to deal {line['previous_deal_id']} was put back" in str(line["message"]) for line in refused)
    said = final_log.read_text()
    assert "relink unlinked none of them" not in said
    assert "2000 items were not linked" in said and "were unlinked and put back on the deal they were on" in said
    print(f"seed {seed}: {kills} kills and a credits stop left {stranded_after_a_stop} emails on no deal between runs")
