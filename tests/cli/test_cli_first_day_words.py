"""What a first day's mistakes say: the module that does not exist, the secret that is wrong, the server that is
down (issue 19, points 10, 13, 15)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.first_day import cli, one_line, pointed_at
from zcrm_async.testing import FakeZoho


@pytest.fixture
def served() -> Iterator[tuple[FakeZoho, str]]:
    fake = FakeZoho()
    with fake.serving_in_thread() as url:
        yield fake, url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_export_of_an_unknown_module_says_so_with_the_nearest_name(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    fake.seed_world(contacts=2)
    out = tmp_path / "emails.jsonl"
    result = cli("emails", "export", "--module", "Contakts", "--out", str(out), *pointed_at(url, fake))
    assert result.returncode == 2
    assert one_line(result) == (
        "zcrm-async: error: unknown module 'Contakts' (--module takes a module's API name); did you mean 'Contacts'?"
    )
    assert not out.exists()
    assert fake.stats.requests["get_emails"] == 0


def test_a_wrong_secret_is_masked_but_the_word_wrong_is_not(served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    args = pointed_at(url, fake)
    args[args.index("--client-secret") + 1] = "wrong"
    result = cli("auth", "check", *args)
    assert result.returncode == 1
    line = one_line(result)
    assert "the client id or client secret is wrong" in line, line
    assert "***" not in line


def test_a_wrong_secret_echoed_by_the_server_is_still_masked(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    secret = "wrong-but-long-9f8e7d"
    args = pointed_at(url, fake)
    args[args.index("--client-secret") + 1] = secret
    result = cli("backfill", "link", str(tmp_path / "missing.csv"), *args, "--client-secret")  # argparse echoes it
    assert result.returncode == 2
    assert secret not in result.stderr + result.stdout


def test_auth_exchange_against_a_dead_server_says_one_tidy_line(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    result = cli(
        "auth", "exchange", "--api-domain", dead, "--accounts-url", dead, "--client-id", "1000.X",
        "--client-secret", "s3cr3t-secret", "--code", "1000.code", "--save", str(tmp_path / "zoho.env"),
    )  # fmt: skip
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(f"zcrm-async: cannot reach the accounts server {dead}: "), line
    assert "Cannot connect to host" not in line  # aiohttp's own wording
    assert not (tmp_path / "zoho.env").exists()


LINK_SCOPES = (
    "ZohoCRM.modules.emails.CREATE ZohoCRM.modules.deals.CREATE ZohoCRM.modules.contacts.CREATE "
    "ZohoCRM.modules.emails.READ ZohoCRM.modules.contacts.READ ZohoCRM.modules.deals.READ ZohoCRM.settings.fields.READ"
)  # every scope but ZohoCRM.settings.modules.READ


@pytest.mark.parametrize("module_id_given", [False, True])
def test_auth_check_says_backfill_link_needs_the_modules_scope_unless_the_id_is_given(
    module_id_given: bool,
) -> None:
    from zcrm_async.testing import FakeConfig

    fake = FakeZoho(FakeConfig(scope=LINK_SCOPES))
    env = {"ZOHO_DEALS_MODULE_ID": "5843104000000002181"} if module_id_given else {}
    with fake.serving_in_thread() as url:
        result = cli("auth", "check", *pointed_at(url, fake), env=env)
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines() if line.startswith("  ")}
    if module_id_given:
        assert result.returncode == 0, result.stdout
        assert lines["backfill link"].startswith("  backfill link: ok")
    else:
        assert result.returncode == 1, result.stdout
        assert lines["backfill link"].startswith(
            "  backfill link: MISSING ZohoCRM.settings.modules.READ (or pass --deals-module-id ID)"
        ), lines["backfill link"]
        assert "MISSING" in lines["backfill relink"] and "MISSING" not in lines["backfill unlink"]


def test_one_item_is_said_in_the_singular_and_a_quiet_budget_has_no_zero_rows(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    from tests.cli_helpers import make_world, write_csv

    fake, url = served
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    dry = cli("backfill", "link", str(path), "--dry-run", "--deals-module-id", "5843104000000002181")
    assert "dry run: 1 item would go in 1 link request to 1 contact; nothing was sent" in dry.stdout
    run = cli("backfill", "link", str(path), *pointed_at(url, fake))
    assert run.returncode == 0, run.stderr
    assert "outcomes of 1 item" in run.stdout
    assert "429 responses" not in run.stdout and "transport errors" not in run.stdout  # all 0 here


def test_json_prints_one_summary_object_on_stdout(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    import json

    from tests.cli_helpers import make_world, write_csv

    fake, url = served
    rows = make_world(fake, contacts=2, emails=2)
    rows[0] = {**rows[0], "deal_id": "123"}  # a deal Zoho does not have: refused
    path = write_csv(tmp_path / "links.csv", rows)
    result = cli("backfill", "link", str(path), "--json", *pointed_at(url, fake))
    (line,) = result.stdout.splitlines()
    summary = json.loads(line)
    assert summary["items"] == 4 and summary["succeeded"] == 3 and summary["failed"] == 1
    assert summary["exit_code"] == result.returncode == 1
    assert summary["states"] == {"done": 4}
    assert "outcomes of 4 items" in result.stderr  # the table a person reads


def test_the_demo_says_where_it_left_its_files(tmp_path: Path) -> None:
    result = cli("demo", "-q", "--contacts", "4", "--latency-ms", "0", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    (folder,) = tmp_path.glob("zcrm-demo-*")
    assert f"are kept in {folder}; remove them: rm -r {folder}" in result.stdout
