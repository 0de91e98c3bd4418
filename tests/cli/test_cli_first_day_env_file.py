"""A new shell after ``auth exchange`` needs nothing loaded: every command reads the env file it wrote, and flags
and the environment win over it (issue 19, point 6). The file is parsed, never executed."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.first_day import cli, one_line
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeConfig, FakeZoho


def _env_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "zcrm-async" / "zoho.env"


def test_a_new_shell_after_auth_exchange_runs_a_backfill_with_no_flags(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=2, emails=2)
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        cfg = fake.config
        exchanged = cli(
            "auth", "exchange", "--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
            "--client-secret", cfg.client_secret, "--code", fake.grant_code(),
        )  # fmt: skip
        assert exchanged.returncode == 0, exchanged.stderr
        assert _env_file().exists()
        result = cli("backfill", "link", str(path), "-q")  # no flag, no ZOHO_* variable
    assert result.returncode == 0, result.stderr
    assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)


def test_quoted_values_are_read_as_a_shell_would_and_never_run(tmp_path: Path) -> None:
    secret = "se$(touch PWNED)cr'et \"x\""
    fake = FakeZoho(FakeConfig(client_secret=secret))
    rows = make_world(fake, contacts=1, emails=1)
    path = write_csv(tmp_path / "links.csv", rows)
    with fake.serving_in_thread() as url:
        cfg = fake.config
        quoted = "'" + secret.replace("'", "'\\''") + "'"  # as auth exchange writes it
        _env_file().parent.mkdir(parents=True)
        _env_file().write_text(
            "# written by hand\n"
            f"export ZOHO_CLIENT_ID=\"{cfg.client_id}\"\n"
            f"ZOHO_CLIENT_SECRET={quoted}\n"
            f"ZOHO_REFRESH_TOKEN={cfg.refresh_token}\n"
            f"ZOHO_API_DOMAIN={url}\nZOHO_ACCOUNTS_URL='{url}'\n"
        )
        result = cli("backfill", "link", str(path), "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "PWNED").exists()
    assert fake.link_of(rows[0]["message_id"]) == rows[0]["deal_id"]


def test_flags_and_the_environment_win_over_the_file(tmp_path: Path) -> None:
    fake = FakeZoho()
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    with fake.serving_in_thread() as url:
        cfg = fake.config
        _env_file().parent.mkdir(parents=True)
        _env_file().write_text(
            f"ZOHO_CLIENT_ID={cfg.client_id}\nZOHO_CLIENT_SECRET=from-the-file-wrong\n"
            f"ZOHO_REFRESH_TOKEN={cfg.refresh_token}\nZOHO_API_DOMAIN={url}\nZOHO_ACCOUNTS_URL={url}\n"
        )
        from_file = cli("backfill", "link", str(path), "-q", "--no-token-cache")
        by_flag = cli("backfill", "link", str(path), "-q", "--no-token-cache", "--client-secret", cfg.client_secret)
    assert from_file.returncode == 1 and "refused the credentials" in one_line(from_file)
    assert "from-the-file-wrong" not in from_file.stderr
    assert by_flag.returncode == 0, by_flag.stderr
    with_env = cli("backfill", "link", str(path), "-q", env={"ZOHO_API_DOMAIN": "http://127.0.0.1:9",
                                                            "ZOHO_ACCOUNTS_URL": "http://127.0.0.1:9"})  # fmt: skip
    assert "127.0.0.1:9" in one_line(with_env)  # the environment's servers, not the file's


def test_an_unreadable_value_is_one_line_naming_the_file(tmp_path: Path) -> None:
    _env_file().parent.mkdir(parents=True)
    _env_file().write_text("ZOHO_CLIENT_SECRET='never closed\n")
    result = cli("backfill", "link", str(tmp_path / "links.csv"))
    assert result.returncode == 2
    assert one_line(result).startswith(f"zcrm-async: error: the env file {_env_file()}: line 1: ")
    assert "never closed" not in result.stderr
