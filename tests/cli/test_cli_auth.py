"""Connecting an org through the real CLI: fake-server says how to use it, `auth exchange` turns its grant code
into a refresh token kept privately, `auth check` reports the setup (issue 9, points 2 and 4)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zcrm_async import read_env_file
from zcrm_async.testing import FakeConfig, FakeZoho

TIMEOUT = 60


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", *args], capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`zcrm-async fake-server` as a process; yields what it printed, by line prefix."""
    sample = tmp_path / "sample.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.cli", "fake-server", "--seed-contacts", "4", "--write-sample", str(sample),
         "--scope", "ZohoCRM.modules.ALL ZohoCRM.settings.ALL"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    lines: dict[str, str] = {"sample": str(sample)}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, rest = line.strip().partition(": ")
            lines[key] = rest
            if line.startswith("owner ids:"):
                break
        yield lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_fake_server_prints_how_to_use_it_and_its_sample_backfills(fake_server: dict[str, str]) -> None:
    flags = fake_server["point zcrm-async at it with these flags"].split()
    assert flags[0::2] == ["--api-domain", "--accounts-url", "--client-id", "--client-secret", "--refresh-token"]
    assert flags[1] == flags[3] and flags[1].startswith("http://127.0.0.1:")
    environment = fake_server["or this environment"]
    assert f"ZOHO_API_DOMAIN={flags[1]}" in environment and f"ZOHO_ACCOUNTS_URL={flags[1]}" in environment
    for ids in ("contact ids", "deal ids", "owner ids", "message ids (emails of the first contact)"):
        assert fake_server[ids]
    result = cli("backfill", "link", fake_server["sample"], "-q", *flags)
    assert result.returncode == 0, result.stderr
    assert "SUCCESS" in result.stdout


def test_auth_exchange_keeps_the_refresh_token_private_then_check_uses_it(
    fake_server: dict[str, str], tmp_path: Path
) -> None:
    flags = fake_server["point zcrm-async at it with these flags"].split()
    code = fake_server["a grant code for `zcrm-async auth exchange --code CODE` (valid 10 min, once)"]
    pointed = [*flags[:6], "--client-secret", flags[7]]  # no refresh token: the grant code gives one
    env_file = tmp_path / "private" / "zoho.env"
    result = cli("auth", "exchange", "--code", code, "--save", str(env_file), *pointed)
    assert result.returncode == 0, result.stderr
    values = read_env_file(env_file)  # what `set -a; . FILE` sets, read without a shell
    refresh_token = values["ZOHO_REFRESH_TOKEN"]
    assert refresh_token.startswith("1000.")
    assert refresh_token not in result.stdout + result.stderr  # never echoed unless asked
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert str(env_file) in result.stdout

    again = cli("auth", "exchange", "--code", code, "--save", str(tmp_path / "other.env"), *pointed)
    assert again.returncode == 1
    assert "already used or expired" in again.stderr and len(again.stderr.strip().splitlines()) == 1

    check = cli("auth", "check", env=values)
    assert check.returncode == 0, check.stderr
    assert f"API domain: {flags[1]}" in check.stdout
    assert "scopes granted: ZohoCRM.modules.ALL ZohoCRM.settings.ALL" in check.stdout
    assert "MISSING" not in check.stdout
    assert refresh_token not in check.stdout + check.stderr


def test_auth_exchange_show_prints_only_the_token_on_stdout(tmp_path: Path) -> None:
    fake = FakeZoho()
    with fake.serving_in_thread() as url:
        code = fake.grant_code()
        result = cli("auth", "exchange", "--code", code, "--show", "--api-domain", url, "--accounts-url", url,
                     "--client-id", fake.config.client_id, "--client-secret", fake.config.client_secret)  # fmt: skip
    assert result.returncode == 0, result.stderr
    (token,) = result.stdout.split()
    assert token in fake._fake.tokens.valid_refresh_tokens  # type: ignore[attr-defined]


def test_auth_exchange_refuses_an_existing_file_before_spending_the_code(tmp_path: Path) -> None:
    existing = tmp_path / "zoho.env"
    existing.write_text("ZOHO_REFRESH_TOKEN=keep-me\n")
    nowhere = ["--api-domain", "http://127.0.0.1:9", "--accounts-url", "http://127.0.0.1:9"]
    result = cli("auth", "exchange", "--code", "1000.abc", "--save", str(existing), "--client-id", "1",
                 "--client-secret", "2", *nowhere)  # fmt: skip
    assert result.returncode == 2
    assert "exists" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert existing.read_text() == "ZOHO_REFRESH_TOKEN=keep-me\n"


def test_auth_check_names_the_scopes_a_command_lacks(tmp_path: Path) -> None:
    fake = FakeZoho(FakeConfig(scope="ZohoCRM.modules.emails.READ ZohoCRM.modules.contacts.READ"))
    with fake.serving_in_thread() as url:
        cfg = fake.config
        result = cli("auth", "check", "--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
                     "--client-secret", cfg.client_secret, "--refresh-token", cfg.refresh_token)  # fmt: skip
    assert result.returncode == 1
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "MISSING" in lines["backfill link"] and "ZohoCRM.modules.deals.CREATE" in lines["backfill link"]
    assert "ok" in lines["emails export"]
    assert "generate a new grant code with: ZohoCRM.modules.emails.CREATE," in result.stdout
    assert fake.stats.token_refreshes == 1


def test_the_readme_scope_line_is_what_the_commands_need() -> None:
    # private on purpose: the CLI's scope table, which README's scope line must match
    from zcrm_async.cli._scopes import RECOMMENDED_SCOPES

    readme = (Path(__file__).resolve().parent.parent.parent / "README.md").read_text()
    assert f"\n{RECOMMENDED_SCOPES}\n" in readme


async def _deals_of(url: str, fake: FakeZoho, contact_id: str) -> list[tuple[str, str]]:
    from zcrm_async import ZohoCRM

    cfg = fake.config
    found = []
    async with ZohoCRM(client_id=cfg.client_id, client_secret=cfg.client_secret, refresh_token=cfg.refresh_token,
                       api_domain=url, accounts_url=url) as crm:  # fmt: skip
        # The README's snippet, as written there.
        async for deal in crm.records.iterate("Deals", fields=["Deal_Name", "Contact_Name"]):
            if (deal.get("Contact_Name") or {}).get("id") == contact_id:
                found.append((deal["id"], deal["Deal_Name"]))
    return found


def test_the_readme_way_to_list_a_contacts_deals() -> None:
    import anyio

    fake = FakeZoho()
    ada, bob = fake.add_contact("Ada"), fake.add_contact("Bob")
    mine, _ = fake.add_deal("Renewal", [ada]), fake.add_deal("Other", [bob])
    with fake.serving_in_thread() as url:
        assert anyio.run(_deals_of, url, fake, ada) == [(mine, "Renewal")]


def test_auth_check_without_scopes_in_the_answer_lists_what_each_command_needs() -> None:
    fake = FakeZoho()  # token answers as Zoho's token pages document them: no scope
    with fake.serving_in_thread() as url:
        cfg = fake.config
        result = cli("auth", "check", "--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
                     "--client-secret", cfg.client_secret, "--refresh-token", cfg.refresh_token)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "scopes granted: not stated by Zoho" in result.stdout
    assert "  backfill link: needs ZohoCRM.modules.emails.CREATE" in result.stdout
    assert "not one of Zoho's data centres" in result.stdout
