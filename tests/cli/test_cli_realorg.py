"""A real org from the first run to the hundredth, through the real CLI as a subprocess (issue 9).

Tokens last across runs (the token cache); credentials go only where the user pointed them; every mistake is
one line on stderr with its exit code and leaves nothing behind.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import FIELDS, make_world, write_csv
from zcrm_async.testing import FakeConfig, FakeZoho

TIMEOUT = 60


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", *args], capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def pointed_at(url: str, fake: FakeZoho) -> list[str]:
    cfg = fake.config
    return ["--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
            "--client-secret", cfg.client_secret, "--refresh-token", cfg.refresh_token]  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a mistake prints on stderr: no traceback, nothing else."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def leftovers(folder: Path, keep: set[str]) -> set[str]:
    return {path.name for path in folder.iterdir()} - keep


# -- tokens last across runs -------------------------------------------------------------------------------


def test_twelve_runs_in_a_row_ask_the_token_endpoint_once(tmp_path: Path) -> None:
    fake = FakeZoho()  # Zoho's limit: 10 tokens per refresh token per 10 minutes
    rows = make_world(fake, contacts=12, emails=1)
    with fake.serving_in_thread() as url:
        for n, row in enumerate(rows):
            path = write_csv(tmp_path / f"run{n}.csv", [row])
            result = cli("backfill", "link", str(path), "-q", *pointed_at(url, fake))
            assert result.returncode == 0, result.stderr
    assert fake.stats.token_refreshes == 1
    assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
    (cached,) = Path(os.environ["XDG_CACHE_HOME"]).glob("zcrm-async/tokens/*.json")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert fake.config.refresh_token not in cached.name
    assert fake.config.refresh_token not in cached.read_text()


def test_no_token_cache_refreshes_each_run_and_the_variable_moves_the_cache(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=1)
    path = write_csv(tmp_path / "links.csv", rows)
    for _ in range(2):
        assert cli("backfill", "link", str(path), "-q", "--no-token-cache", *pointed_at(url, fake)).returncode == 0
    assert fake.stats.token_refreshes == 2
    cache = tmp_path / "my-cache"
    for _ in range(2):
        result = cli("backfill", "link", str(path), "-q", *pointed_at(url, fake), env={"ZCRM_TOKEN_CACHE": str(cache)})
        assert result.returncode == 0, result.stderr
    assert fake.stats.token_refreshes == 3
    assert len(list(cache.glob("*.json"))) == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_a_throttled_refresh_says_when_and_how_to_wait(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(token_refresh_limit=0))
    rows = make_world(fake, contacts=1, emails=1)
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        result = cli("backfill", "link", str(path), "--token-wait", "0", *pointed_at(url, fake))
    assert result.returncode == 1
    line = one_line(result)
    assert "run again from" in line and "UTC" in line and "--token-wait" in line
    assert fake.stats.token_refreshes == 1


# -- credentials go only where pointed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "names"),
    [
        (["--api-domain", "http://127.0.0.1:9"], "--accounts-url"),
        (["--accounts-url", "http://127.0.0.1:9"], "--api-domain"),
    ],
)
def test_half_pointed_at_a_non_zoho_server_is_refused(tmp_path: Path, flags: list[str], names: str) -> None:
    path = write_csv(tmp_path / "links.csv", [], FIELDS)
    result = cli("backfill", "link", str(path), "--client-id", "1", "--client-secret", "2", "--refresh-token", "3",
                 *flags)  # fmt: skip
    assert result.returncode == 2
    assert names in one_line(result)
    assert leftovers(tmp_path, {"links.csv"}) == set()


def test_zoho_api_domain_alone_is_fine_for_the_parser() -> None:
    result = cli("auth", "check", "--api-domain", "https://www.zohoapis.eu")
    assert result.returncode == 2
    assert "missing credentials" in one_line(result)


# -- one line, the right exit code, nothing left behind ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--dc", "xx"], {}), ([], {"ZOHO_DC": "xx"})],
)
def test_an_unknown_data_centre_is_one_line_exit_2_and_leaves_nothing(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    path = write_csv(tmp_path / "links.csv", [], FIELDS)
    result = cli("backfill", "link", str(path), "--client-id", "1", "--client-secret", "2", "--refresh-token", "3",
                 *args, env=env)  # fmt: skip
    assert result.returncode == 2
    line = one_line(result)
    assert "unknown data centre 'xx'" in line and ("--dc" in line or "ZOHO_DC" in line)
    assert leftovers(tmp_path, {"links.csv"}) == set()


def test_demo_takes_no_connection_flags() -> None:
    result = cli("demo", "--dc", "xx")
    assert result.returncode == 2
    assert "unrecognized arguments: --dc xx" in result.stderr and "Traceback" not in result.stderr
    help_text = cli("demo", "--help").stdout
    for ignored in ("--api-domain", "--client-id", "--redis-url", "--dc"):
        assert ignored not in help_text


def test_an_unreachable_accounts_server_is_named(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=1, emails=1)
    path = write_csv(tmp_path / "links.csv", rows)
    dead = f"http://127.0.0.1:{free_port()}"
    result = cli("backfill", "link", str(path), *pointed_at(dead, fake))
    assert result.returncode == 1
    line = one_line(result)
    assert f"cannot reach the accounts server {dead}" in line


def test_an_unreachable_api_server_is_named_before_any_item_is_sent(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=1)
    path = write_csv(tmp_path / "links.csv", rows)
    dead = f"http://127.0.0.1:{free_port()}"
    args = pointed_at(url, fake)
    args[1] = dead  # --api-domain
    result = cli("backfill", "link", str(path), "-q", *args)
    assert result.returncode == 1
    assert f"cannot reach the API server {dead}" in one_line(result)


def test_wrong_credentials_are_one_line_and_nothing_is_left_in_flight(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=5)
    path = write_csv(tmp_path / "links.csv", rows)
    args = pointed_at(url, fake)
    args[args.index("--client-secret") + 1] = "wrong-secret"
    result = cli("backfill", "link", str(path), "-q", *args)
    assert result.returncode == 1
    line = one_line(result)
    assert "refused the credentials" in line and "client secret" in line
    assert "wrong-secret" not in result.stderr + result.stdout
    assert leftovers(tmp_path, {"links.csv"}) == set()  # refused before the journal was made
    again = cli("backfill", "link", str(path), "-q", *pointed_at(url, fake))
    assert again.returncode == 0, again.stderr
    assert "read back" not in again.stdout + again.stderr  # nothing was in flight to reconcile
    assert fake.stats.requests.get("get_emails", 0) == 0


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("zcrm-async ")


def test_only_fake_server_loads_the_fake_server() -> None:
    """Every other command starts without FakeZoho's code (aiohttp's server side and the fake's handlers)."""
    probe = (
        "import sys, contextlib, io\n"
        "from zcrm_async.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(sys.argv[1:])\n"
        "print('zcrm_async.testing' in sys.modules)"
    )
    loaded = {}
    for command in (["backfill", "link", "--help"], ["fake-server", "--help"]):
        done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        loaded[command[0]] = done.stdout.strip()
    assert loaded == {"backfill": "False", "fake-server": "True"}


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("rows.json", '[{"contact_id": "1"}]\n', "is a JSON array"),
        ("rows.csv", "", "is empty"),
        ("rows.jsonl", "\n  \n", "is empty"),
        ("rows.csv", "contact_id,message_id,deal_id,owner_id\n", "has a header but no rows"),
    ],
)
def test_an_unusable_file_is_one_line_exit_2_and_leaves_nothing(
    tmp_path: Path, name: str, content: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = cli("backfill", "link", str(path), "--client-id", "1", "--client-secret", "2", "--refresh-token", "3",
                 "--api-domain", "http://127.0.0.1:9", "--accounts-url", "http://127.0.0.1:9")  # fmt: skip
    assert result.returncode == 2
    assert says in one_line(result)
    assert leftovers(tmp_path, {name}) == set()


def test_an_unwritable_report_or_out_is_refused_before_any_work(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=2)
    path = write_csv(tmp_path / "links.csv", rows)
    result = cli("backfill", "link", str(path), "--report", "/nonexistent/r.jsonl", *pointed_at(url, fake))
    assert result.returncode == 2
    assert "cannot write --report /nonexistent/r.jsonl" in one_line(result)
    export = cli("emails", "export", "--out", "/nonexistent/x.jsonl", *pointed_at(url, fake))
    assert export.returncode == 2
    assert "cannot write --out /nonexistent/x.jsonl" in one_line(export)
    assert leftovers(tmp_path, {"links.csv"}) == set()
    assert sum(fake.stats.requests.values()) == 0  # not even a token


def test_progress_goes_to_stderr_and_agrees_with_the_summary(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    rows = make_world(fake, contacts=1, emails=2)
    bad = [dict(rows[0], contact_id=f"x{n}") for n in range(4)]
    path = write_csv(tmp_path / "links.csv", rows + bad)
    result = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert result.returncode == 1
    (progress,) = [line for line in result.stderr.splitlines() if line.startswith("link: ")]
    assert progress.startswith("link: 6/6") and "failed 4" in progress
    assert "INVALID_ROW" in result.stdout and "link:" not in result.stdout
    assert "journal:" in result.stderr
    assert leftovers(tmp_path, {"links.csv", "links.csv.journal.sqlite"}) == set()  # no lock file left


def test_the_demo_keeps_the_files_it_names(tmp_path: Path) -> None:
    result = cli("demo", "--contacts", "5", "--latency-ms", "0", "-q", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    (folder,) = tmp_path.iterdir()
    named = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("input: ")]
    assert named and all(Path(path).exists() for path in named)
    assert (folder / "demo-report.jsonl").exists()
