"""`auth exchange` against a hostile token server on 127.0.0.1, through the real CLI (a subprocess): nothing the
server answers reaches a shell that sources the env file, and no failure after the exchange loses the refresh
token (issue 21, points 2, 3 and 4).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from tests.hostile import HostileServer, token_answer
from zcrm_async import read_env_file, write_env_file

pytestmark = pytest.mark.anyio

TIMEOUT = 60
GOOD_REFRESH = "1000.0123456789abcdef0123456789abcdef.fedcba9876543210fedcba9876543210"
CLIENT_ID = "1000.CLIENTID"
CLIENT_SECRET = "client-secret-DO-NOT-PRINT"


async def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "zcrm_async.cli", *args]
    with anyio.fail_after(TIMEOUT):
        result = await anyio.run_process(command, check=False, env={**os.environ, **(env or {})})
    return subprocess.CompletedProcess(command, result.returncode, result.stdout.decode(), result.stderr.decode())


def _exchange(url: str, *extra: str, secret: str = CLIENT_SECRET, client_id: str = CLIENT_ID) -> list[str]:
    return [
        "auth", "exchange", "--code", "1000.grantcode", "--api-domain", url, "--accounts-url", url,
        "--client-id", client_id, "--client-secret", secret, *extra,
    ]  # fmt: skip


def _hostile_tokens(marker: Path) -> list[str]:
    return [
        f"{GOOD_REFRESH}\nZOHO_API_DOMAIN=https://evil.example.com",
        f"1000.$(touch {marker})",
        f"1000.`touch {marker}`",
        "1000.\x1b[2J\x1b]0;title\x07abc",
        f"1000.abc' ; touch {marker} ; '",
    ]


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize("mode", ["--save", "--show"])
async def test_a_refresh_token_outside_zohos_alphabet_is_refused_with_one_line(
    tmp_path: Path, index: int, mode: str
) -> None:
    marker = tmp_path / "ran"
    hostile = _hostile_tokens(marker)[index]
    env_file = tmp_path / "zoho.env"
    async with HostileServer().running() as server:
        server.handler = lambda request: _answer(token_answer(refresh_token=hostile))
        extra = ["--save", str(env_file)] if mode == "--save" else ["--show"]
        result = await _cli(*_exchange(server.url, *extra), env={"ZCRM_TOKEN_CACHE": str(tmp_path / "tokens")})
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not a Zoho token" in result.stderr
    assert result.stdout == ""
    assert not env_file.exists() and not marker.exists()
    assert not (tmp_path / "tokens").exists()  # nothing kept from that answer
    for raw in ("\x1b", "\x07", "evil.example.com"):
        assert raw not in result.stdout + result.stderr


async def _answer(response: web.Response) -> web.Response:
    return response


async def test_sourcing_the_env_file_runs_nothing_and_sets_only_its_variables(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    # The user's own values may hold anything a shell reads specially: each is written quoted.
    secret = f"s'e$(touch {marker})`touch {marker}`\"$HOME;{{x}}\\ * ~ #"
    client_id = f"1000.ID;touch {marker}&"
    env_file = tmp_path / "private" / "zoho.env"
    async with HostileServer().running() as server:
        server.handler = lambda request: _answer(token_answer(refresh_token=GOOD_REFRESH))
        result = await _cli(*_exchange(server.url, "--save", str(env_file), secret=secret, client_id=client_id),
                            env={"ZCRM_TOKEN_CACHE": "off"})  # fmt: skip
        url = server.url
    assert result.returncode == 0, result.stderr
    expected = {
        "ZOHO_CLIENT_ID": client_id, "ZOHO_CLIENT_SECRET": secret, "ZOHO_REFRESH_TOKEN": GOOD_REFRESH,
        "ZOHO_DC": "us", "ZOHO_ACCOUNTS_URL": url, "ZOHO_API_DOMAIN": url,
    }  # fmt: skip
    assert read_env_file(env_file) == expected
    assert _sourced(env_file, tmp_path) == expected
    assert not marker.exists()


#: Variables bash itself changes as it runs a script: the last argument, exit statuses, the call stack.
_BASH_OWN = {"_", "PIPESTATUS", "BASH_ARGC", "BASH_ARGV", "BASH_LINENO", "BASH_SOURCE", "BASH_COMMAND"}


def _sourced(env_file: Path, folder: Path) -> dict[str, str]:
    """Source ``env_file`` in bash as the README says; return the variables it set (new or changed)."""
    script = (
        'declare -p > "$2/before"; set -a; . "$1"; set +a; declare -p > "$2/after"; '
        'for name in $(compgen -v); do printf "%s=%s\\0" "$name" "${!name}"; done'
    )
    command = ["bash", "--noprofile", "--norc", "-c", script, "bash", str(env_file), str(folder)]
    result = subprocess.run(command, capture_output=True, timeout=TIMEOUT, cwd=folder, env={"PATH": os.environ["PATH"]})
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    before = set((folder / "before").read_text().splitlines())
    changed = [line for line in (folder / "after").read_text().splitlines() if line not in before]
    names = {line.split()[2].split("=", 1)[0] for line in changed if line.startswith("declare ")}
    names -= _BASH_OWN  # bash's bookkeeping, which moves with every command
    values = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if item)
    return {name: values[name] for name in names}


async def test_a_value_a_shell_line_cannot_hold_is_refused_before_the_code_is_sent(tmp_path: Path) -> None:
    async with HostileServer().running() as server:
        server.handler = lambda request: _answer(token_answer(refresh_token=GOOD_REFRESH))
        result = await _cli(*_exchange(server.url, "--save", str(tmp_path / "zoho.env"), secret="two\nlines"),
                            env={"ZCRM_TOKEN_CACHE": "off"})  # fmt: skip
        assert server.received == []
    assert result.returncode == 2, result.stderr
    assert "control character" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "two" not in result.stderr


def test_the_reader_reads_what_a_shell_reads_and_refuses_the_rest(tmp_path: Path) -> None:
    written = write_env_file(tmp_path / "a.env", {"A": "it's $(x) `y`", "B": ""}, comments=["hello"])
    assert read_env_file(written) == {"A": "it's $(x) `y`", "B": ""}
    old = tmp_path / "old.env"
    old.write_text('# old style\nexport PLAIN=1000.abc\nD="x \\$y"\n\n')
    assert read_env_file(old) == {"PLAIN": "1000.abc", "D": "x $y"}
    for line in ("E=$(touch x)", "E=a b", 'E="$HOME"', "E='open", "E=`x`", "not a line", "E='a'b"):
        bad = tmp_path / "bad.env"
        bad.write_text(line + "\n")
        with pytest.raises(ValueError, match="line 1"):
            read_env_file(bad)
    with pytest.raises(ValueError, match="control character"):
        write_env_file(tmp_path / "c.env", {"A": "x\nB=y"})
    with pytest.raises(FileExistsError):
        write_env_file(written, {"A": "b"})


# -- point 3: every output checked before the code is sent; the token never lost after it ----------------------


@pytest.mark.parametrize("where", ["a folder, with --force", "under a file"])
async def test_an_env_file_that_cannot_be_written_is_refused_before_the_code_is_sent(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    target = tmp_path / ("folder" if where.startswith("a folder") else "file/sub/zoho.env")
    async with HostileServer().running() as server:
        server.handler = lambda request: _answer(token_answer(refresh_token=GOOD_REFRESH))
        result = await _cli(*_exchange(server.url, "--save", str(target), "--force"), env={"ZCRM_TOKEN_CACHE": "off"})
        assert server.received == []  # the code is still good
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_a_token_cache_that_cannot_be_written_is_skipped_and_the_env_file_still_written(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    env_file = tmp_path / "zoho.env"
    async with HostileServer().running() as server:
        server.handler = lambda request: _answer(token_answer(refresh_token=GOOD_REFRESH))
        result = await _cli(*_exchange(server.url, "--save", str(env_file)),
                            env={"ZCRM_TOKEN_CACHE": str(tmp_path / "file" / "tokens")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "token cache" in result.stderr and "not used" in result.stderr
    assert read_env_file(env_file)["ZOHO_REFRESH_TOKEN"] == GOOD_REFRESH


async def test_a_failure_after_the_exchange_still_hands_the_refresh_token_over(tmp_path: Path) -> None:
    folder = tmp_path / "private"
    folder.mkdir()
    env_file = folder / "zoho.env"

    async def answer_then_break_the_folder(request: web.Request) -> web.Response:
        folder.rmdir()
        folder.write_text("now a file")  # checked writable before the code was sent; not any more
        return token_answer(refresh_token=GOOD_REFRESH)

    async with HostileServer().running() as server:
        server.handler = answer_then_break_the_folder
        result = await _cli(*_exchange(server.url, "--save", str(env_file)),
                            env={"ZCRM_TOKEN_CACHE": str(tmp_path / "tokens")})  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stdout == GOOD_REFRESH + "\n"  # printed once, alone on stdout
    assert "Traceback" not in result.stderr
    assert "could not save the refresh token" in result.stderr and GOOD_REFRESH not in result.stderr
    assert list((tmp_path / "tokens").iterdir())  # the cache, best-effort, still got the first access token


# -- point 4: the exchanged access token gets the refresh path's checks ------------------------------------------


async def test_an_exchanged_access_token_a_header_cannot_carry_is_not_cached(tmp_path: Path) -> None:
    env_file, cache = tmp_path / "zoho.env", tmp_path / "tokens"
    async with HostileServer().running() as server:
        answer = token_answer(refresh_token=GOOD_REFRESH, access_token="1000.a\r\nX-Evil: 1")
        server.handler = lambda request: _answer(answer)
        result = await _cli(*_exchange(server.url, "--save", str(env_file)), env={"ZCRM_TOKEN_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    assert "not cached" in result.stderr
    assert read_env_file(env_file)["ZOHO_REFRESH_TOKEN"] == GOOD_REFRESH
    assert not cache.exists() or not list(cache.iterdir())


async def test_an_exchanged_token_lifetime_is_clamped_to_zohos_hour(tmp_path: Path) -> None:
    cache = tmp_path / "tokens"
    async with HostileServer().running() as server:
        answer = token_answer(refresh_token=GOOD_REFRESH, expires_in=1e15)
        server.handler = lambda request: _answer(answer)
        result = await _cli(*_exchange(server.url, "--save", str(tmp_path / "zoho.env")),
                            env={"ZCRM_TOKEN_CACHE": str(cache)})  # fmt: skip
    assert result.returncode == 0, result.stderr
    (cached,) = cache.iterdir()
    token = json.loads(cached.read_text())
    assert token["lifetime"] == 3600 and token["expires_at"] <= time.time() + 3600
