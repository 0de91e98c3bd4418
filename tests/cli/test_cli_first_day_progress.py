"""Issue "first day", point 14: while a resumed run reads back the items a killed run left in flight, its
progress says so (a label, not a bar standing at ``0/s -:--:--`` under the operation's name)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_helpers import connection_args, make_world, run_cli, write_csv
from zcrm_async.backfill import EMAIL_LAYOUT, Journal

# private on purpose: the CLI's file reader and operations, to bind a journal to a real file as the command does
from zcrm_async.cli._input import read_input
from zcrm_async.cli._operations import LINK
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

READING_BACK = "reading back 3 items an earlier run left in flight"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _killed_with_three_in_flight(tmp_path: Path, fake: FakeZoho) -> Path:
    rows = make_world(fake, contacts=1, emails=3)
    path = write_csv(tmp_path / "links.csv", rows)
    with Journal(tmp_path / "links.csv.journal.sqlite", EMAIL_LAYOUT) as journal:
        journal.bind(read_input(path, LINK), "link")
        assert len(journal.take_pending(100)) == 3  # a run killed after marking them in flight
    return path


async def test_plain_progress_names_the_read_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeZoho() as fake:
        path = _killed_with_three_in_flight(tmp_path, fake)
        assert await run_cli(["backfill", "link", str(path), *connection_args(fake)]) == 0
    err = capsys.readouterr().err
    assert f"link: {READING_BACK}" in err
    assert "in_flight" not in err


async def test_a_fresh_run_announces_no_read_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=3)
        path = write_csv(tmp_path / "links.csv", rows)
        assert await run_cli(["backfill", "link", str(path), *connection_args(fake)]) == 0
    assert "reading back" not in capsys.readouterr().err


async def test_the_bar_is_labelled_while_it_reads_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws its bar as on a terminal
    monkeypatch.setenv("COLUMNS", "200")
    # Each answer takes long enough for the bar (redrawn every 0.1 s) to be drawn during the read-back.
    async with FakeZoho(FakeConfig(latency=0.4)) as fake:
        path = _killed_with_three_in_flight(tmp_path, fake)
        assert await run_cli(["backfill", "link", str(path), *connection_args(fake)]) == 0
    err = _ANSI.sub("", capsys.readouterr().err)
    assert READING_BACK in err
    assert "in_flight" not in err
