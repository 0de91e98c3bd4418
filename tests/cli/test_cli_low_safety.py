"""Small credential and file-safety rules through the real CLI (a subprocess): folders made private under any
umask, a --report that would overwrite the input or the journal refused, a password in a server's URL and short
secrets never shown (issue 21, LOW)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from tests.cli_helpers import write_csv
from tests.hostile import HostileServer, token_answer

TIMEOUT = 60
ROW = {"contact_id": "111", "message_id": "m1", "deal_id": "222", "deal_name": "D", "owner_id": "333",
       "owner_name": "O"}  # fmt: skip


def _cli(*args: str, env: dict[str, str] | None = None, umask: int = -1) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zcrm_async.cli", *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, **(env or {})}, umask=umask)  # fmt: skip


@pytest.mark.anyio
async def test_auth_exchange_makes_its_folders_private_under_umask_000(tmp_path: Path) -> None:
    config, saved = tmp_path / "config", tmp_path / "a" / "b" / "zoho.env"

    async def answer(request: web.Request) -> web.Response:
        return token_answer(refresh_token="1000.abc.def")

    async with HostileServer().running() as server:
        server.handler = answer
        base = ["auth", "exchange", "--api-domain", server.url, "--accounts-url", server.url, "--client-id", "1000.C",
                "--client-secret", "secret-x"]  # fmt: skip
        env = {"XDG_CONFIG_HOME": str(config), "ZCRM_TOKEN_CACHE": "off"}
        default = await anyio.to_thread.run_sync(lambda: _cli(*base, "--code", "1000.one", env=env, umask=0))
        given = await anyio.to_thread.run_sync(
            lambda: _cli(*base, "--code", "1000.two", "--save", str(saved), env=env, umask=0)
        )
    assert default.returncode == 0, default.stderr
    assert given.returncode == 0, given.stderr
    for folder in (config, config / "zcrm-async", tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in (config / "zcrm-async" / "zoho.env", saved):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


@pytest.mark.parametrize("names", ["the input file", "the journal"])
def test_a_report_that_would_overwrite_the_input_or_the_journal_is_refused(tmp_path: Path, names: str) -> None:
    path = write_csv(tmp_path / "in.csv", [ROW])
    journal = tmp_path / "run.journal"
    report = path if names == "the input file" else journal
    before = path.read_bytes()
    result = _cli("backfill", "link", str(path), "--journal", str(journal), "--report", str(report),
                  "--api-domain", "http://127.0.0.1:9", "--accounts-url", "http://127.0.0.1:9", "--client-id", "1",
                  "--client-secret", "secret-x", "--refresh-token", "refresh-x")  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"is {names}" in line
    assert path.read_bytes() == before and not journal.exists()


def test_a_password_in_a_servers_url_is_never_shown(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [ROW])
    for password in ("hunter2-long-password", "pw"):
        url = f"http://someone:{password}@127.0.0.1:9"
        result = _cli("backfill", "link", str(path), "--api-domain", url, "--accounts-url", url, "--client-id", "1",
                      "--client-secret", "secret-x", "--refresh-token", "refresh-x",
                      env={"ZCRM_TOKEN_CACHE": "off"})  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "cannot reach" in result.stderr and "someone:***@127.0.0.1:9" in result.stderr
        assert f":{password}@" not in result.stdout + result.stderr


def test_a_secret_under_four_characters_is_masked_too(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [ROW])
    result = _cli("backfill", "link", str(path), "--dry-run", "--refresh_token", "xy9")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr
    assert "xy9" not in result.stderr and "--refresh_token ***" in result.stderr
