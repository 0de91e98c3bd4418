"""``zcrm-async backfill`` against an in-process FakeZoho: outcomes, resume, dry run, exit codes, report, secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import (
    REFRESH,
    SECRET,
    connection_args,
    make_world,
    read_report,
    run_cli,
    write_csv,
    write_jsonl,
)
from zcrm_async.backfill import EMAIL_LAYOUT, Journal
from zcrm_async.cli import main

# private on purpose: the CLI's file reader and operations, to bind a journal to a real file as the command does
from zcrm_async.cli._input import read_input
from zcrm_async.cli._operations import LINK
from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


async def test_link_links_every_row_and_reports_each_item(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=3, emails=25)  # 25 emails: two requests for each contact
        path = write_csv(tmp_path / "links.csv", rows)
        report = tmp_path / "report.jsonl"
        code = await run_cli(["backfill", "link", str(path), "--report", str(report), "-q", *connection_args(fake)])
        assert code == 0
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
        assert fake.stats.requests["link_emails"] == 6
        lines = read_report(report)
        assert [line["line"] for line in lines] == list(range(2, 2 + len(rows)))
        assert {line["code"] for line in lines} == {"SUCCESS"}
        first = lines[0]
        assert {k: first[k] for k in ("contact_id", "message_id", "deal_id", "owner_id")} == {
            k: rows[0][k] for k in ("contact_id", "message_id", "deal_id", "owner_id")
        }
        assert first["status"] == "success" and first["attempts"] == 1 and "message" in first
        assert (tmp_path / "links.csv.journal.sqlite").exists()


async def test_bad_rows_fail_the_run_but_good_rows_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=2)
        broken = {**rows[0], "message_id": "not-hex!", "contact_id": rows[0]["contact_id"]}
        path = write_jsonl(tmp_path / "links.jsonl", [rows[0], broken, rows[1], rows[0]])
        report = tmp_path / "r.jsonl"
        code = await run_cli(["backfill", "link", str(path), "--report", str(report), *connection_args(fake)])
        assert code == 1
        assert fake.link_of(rows[0]["message_id"]) and fake.link_of(rows[1]["message_id"])
        err = capsys.readouterr().err
        assert "line 2:" in err and "line 4: duplicates line 1" in err
        codes = {line["line"]: line["code"] for line in read_report(report)}
        assert codes == {1: "SUCCESS", 2: "INVALID_ROW", 3: "SUCCESS", 4: "INVALID_ROW"}


async def test_a_second_run_sends_nothing_again(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=2, emails=3)
        path = write_csv(tmp_path / "links.csv", rows)
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 0
        fake.reset_stats()
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 0
        assert fake.stats.requests["link_emails"] == 0 and fake.stats.requests["get_email"] == 0


async def test_in_flight_items_are_reconciled_by_reading_back_not_resent(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=3)
        path = write_csv(tmp_path / "links.csv", rows)
        journal_path = tmp_path / "links.csv.journal.sqlite"
        # A run that died after marking everything in flight, when only the first link had reached Zoho.
        with Journal(journal_path, EMAIL_LAYOUT) as journal:
            journal.bind(read_input(path, LINK), "link")
            assert len(journal.take_pending(100)) == 3
        fake.world.link_code(rows[0]["contact_id"], rows[0]["message_id"], rows[0]["deal_id"], rows[0]["owner_id"])
        report = tmp_path / "r.jsonl"
        code = await run_cli(["backfill", "link", str(path), "--report", str(report), "-q", *connection_args(fake)])
        assert code == 0
        assert fake.stats.requests["get_emails"] == 1  # the contact's list, read once for its three items
        assert fake.stats.requests["link_emails"] == 1  # one request, for the two that had not been applied
        lines = read_report(report)
        assert [line["code"] for line in lines] == ["SUCCESS"] * 3
        assert "interrupted run" in str(lines[0]["message"])
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)


async def test_unlink_and_relink(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=2, emails=2)
        other = fake.add_deal("Other", [rows[0]["contact_id"]])
        fake.world.link_directly(rows[0]["message_id"], other)  # wrong deal: relink must fix it
        relink = write_jsonl(tmp_path / "relink.jsonl", rows)
        assert await run_cli(["backfill", "relink", str(relink), "-q", *connection_args(fake)]) == 0
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
        unlink = write_csv(tmp_path / "unlink.csv", rows, ["contact_id", "message_id", "owner_id"])
        assert await run_cli(["backfill", "unlink", str(unlink), "-q", *connection_args(fake)]) == 0
        assert all(fake.link_of(row["message_id"]) is None for row in rows)


async def test_dry_run_sends_nothing_and_shows_the_requests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=2, emails=21)
        path = write_csv(tmp_path / "links.csv", rows)
        code = await run_cli(["backfill", "link", str(path), "--dry-run", *connection_args(fake)])
        assert code == 0
        assert sum(fake.stats.requests.values()) == 0
        assert not (tmp_path / "links.csv.journal.sqlite").exists()
        out = capsys.readouterr().out
        assert "42 items would go in 4 link requests to 2 contacts" in out
        assert f"POST /crm/v8/Contacts/{rows[0]['contact_id']}/Emails/actions/link_record" in out
        assert rows[0]["message_id"] in out


def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "in.csv"
    path.write_text("contact_id,message_id,deal_id,owner_id\n111,aaa1,222,333\n")
    assert main(["backfill", "link", str(path)]) == 2  # no credentials
    assert "missing credentials" in capsys.readouterr().err
    assert not (tmp_path / "in.csv.journal.sqlite").exists()
    assert main(["backfill", "link", str(tmp_path / "missing.csv"), "--client-id", "x"]) == 2
    assert main(["backfill", "frobnicate", str(path)]) == 2
    assert main(["backfill", "unlink", str(tmp_path / "in.csv"), "--dry-run", "--batch-size", "0"]) == 2
    path.write_text("contact_id,message_id\n111,aaa1\n")
    assert main(["backfill", "link", str(path), "--dry-run"]) == 2
    assert "lacks deal_id, owner_id" in capsys.readouterr().err


async def test_a_journal_of_another_operation_is_a_usage_error(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=1)
        path = write_csv(tmp_path / "links.csv", rows)
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 0
        assert await run_cli(["backfill", "relink", str(path), "-q", *connection_args(fake)]) == 2
        other = write_csv(tmp_path / "other.csv", rows[:0])
        journal = str(tmp_path / "links.csv.journal.sqlite")
        assert await run_cli(["backfill", "link", str(other), "--journal", journal, *connection_args(fake)]) == 2


async def test_secrets_are_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeZoho(FakeConfig(client_secret=SECRET, refresh_token=REFRESH)) as fake:
        rows = make_world(fake, contacts=1, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        report = tmp_path / "r.jsonl"
        monkeypatch.setenv("ZOHO_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("ZOHO_REFRESH_TOKEN", REFRESH)
        base = ["--api-domain", fake.url, "--accounts-url", fake.url, "--client-id", fake.config.client_id]
        assert await run_cli(["backfill", "link", str(path), "--report", str(report), *base]) == 0
        assert await run_cli(["backfill", "link", str(path), "--dry-run", *base]) == 0
        # Wrong secret on the command line: the refusal is explained without echoing it (no cache: a cached
        # token, valid for this client and refresh token, would be used without asking Zoho anything).
        wrong = ["--client-secret", SECRET + "-wrong", "--refresh-token", REFRESH, "--no-token-cache"]
        rel = write_csv(tmp_path / "again.csv", rows)
        assert await run_cli(["backfill", "relink", str(rel), *base, *wrong]) == 1
        assert await run_cli(["backfill", "relink", str(rel), "--bogus", SECRET]) == 2
        captured = capsys.readouterr()
        text = captured.out + captured.err + report.read_text()
        assert "refused" in captured.err
        assert SECRET not in text and REFRESH not in text




async def test_redis_url_shares_the_budget_and_token(tmp_path: Path, redis_url: str) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=2, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        args = ["--redis-url", redis_url, "--org", "acme", "-q", *connection_args(fake)]
        assert await run_cli(["backfill", "link", str(path), *args]) == 0
        out = str(tmp_path / "e.jsonl")
        assert await run_cli(["emails", "export", "--module", "Contacts", "--out", out, *args]) == 0
        assert fake.stats.token_refreshes == 1  # the second process found the first one's token in Redis
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)


@pytest.mark.parametrize(("module_id", "code"), [(DEALS_MODULE_ID, "SUCCESS"), ("1234", "AMBIGUITY_DURING_PROCESSING")])
async def test_deals_module_id_is_sent_as_linked_record_module_id(tmp_path: Path, module_id: str, code: str) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        report = tmp_path / "report.jsonl"
        argv = ["backfill", "link", str(path), "--deals-module-id", module_id, "--report", str(report), "-q"]
        await run_cli([*argv, *connection_args(fake)])
        assert {line["code"] for line in read_report(report)} == {code}


def test_abbreviated_options_are_refused_and_never_echo_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "links.csv", [])
    code = main(["backfill", "link", str(path), f"--client-s={SECRET}", "--dry-run"])
    assert code == 2
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err


async def test_a_second_run_on_a_busy_journal_is_refused(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=2)
        path = write_csv(tmp_path / "links.csv", rows)
        with Journal(tmp_path / "links.csv.journal.sqlite", EMAIL_LAYOUT):  # another run holds it
            code = await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)])
        assert code == 2
        assert fake.stats.requests["link_emails"] == 0
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 0


async def test_a_rerun_retries_items_that_failed_for_a_passing_cause(tmp_path: Path) -> None:
    from zcrm_async.backfill import Outcome

    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=3)
        path = write_csv(tmp_path / "links.csv", rows)
        with Journal(tmp_path / "links.csv.journal.sqlite", EMAIL_LAYOUT) as journal:
            journal.bind(read_input(path, LINK), "link")
            taken = journal.take_pending(100)
            # A run that ended with no response for two items (the first had reached Zoho) and a real refusal.
            journal.finish([
                Outcome(taken[0].line, "TRANSPORT_ERROR", "error", "reset", 3),
                Outcome(taken[1].line, "INTERNAL_ERROR", "error", "500", 3),
                Outcome(taken[2].line, "NOT_ALLOWED", "error", "not associated", 1),
            ])  # fmt: skip
        fake.world.link_code(rows[0]["contact_id"], rows[0]["message_id"], rows[0]["deal_id"], rows[0]["owner_id"])
        report = tmp_path / "r.jsonl"
        code = await run_cli(["backfill", "link", str(path), "--report", str(report), "-q", *connection_args(fake)])
        assert [line["code"] for line in read_report(report)] == ["SUCCESS", "SUCCESS", "NOT_ALLOWED"]
        assert code == 1  # the real refusal stays final
        assert fake.stats.requests["link_emails"] == 1  # only the item that had not reached Zoho is sent
        assert fake.link_of(rows[1]["message_id"]) == rows[1]["deal_id"]
        assert fake.link_of(rows[2]["message_id"]) is None


async def test_an_email_already_on_the_intended_deal_is_success_killed_or_not(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=2)
        fake.world.link_directly(rows[0]["message_id"], rows[0]["deal_id"])  # e.g. Deal Prediction got it right
        path = write_csv(tmp_path / "links.csv", rows)
        report = tmp_path / "r.jsonl"
        code = await run_cli(["backfill", "link", str(path), "--report", str(report), "-q", *connection_args(fake)])
        assert code == 0
        first = read_report(report)[0]
        assert (first["code"], first["message"]) == ("SUCCESS", "already linked to this deal")


async def test_a_429_with_an_html_body_is_retried_by_the_next_run(tmp_path: Path) -> None:
    from zcrm_async.backfill import Outcome

    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=1)
        path = write_csv(tmp_path / "links.csv", rows)
        with Journal(tmp_path / "links.csv.journal.sqlite", EMAIL_LAYOUT) as journal:
            journal.bind(read_input(path, LINK), "link")
            (taken,) = journal.take_pending(10)
            journal.finish([Outcome(taken.line, "HTTP_429", "error", "HTTP 429", 8, transient=True)])
        code = await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)])
        assert code == 0 and fake.link_of(rows[0]["message_id"]) == rows[0]["deal_id"]


@pytest.mark.parametrize("where", ["missing-dir/j.sqlite", "links.csv"])
async def test_a_journal_path_that_cannot_be_a_journal_is_a_usage_error(tmp_path: Path, where: str) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=1, emails=1)
        path = write_csv(tmp_path / "links.csv", rows)
        argv = ["backfill", "link", str(path), "--journal", str(tmp_path / where), "-q", *connection_args(fake)]
        assert await run_cli(argv) == 2
        assert fake.stats.requests["link_emails"] == 0


def test_dry_run_prints_the_body_the_run_sends_with_the_deals_module_id(tmp_path: Path) -> None:
    rows = [
        {"contact_id": "111", "message_id": f"abc{n}", "deal_id": "222", "owner_id": "333"} for n in range(45)
    ]
    path = write_csv(tmp_path / "links.csv", rows)
    done = subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", "backfill", "link", str(path), "--dry-run",
         "--deals-module-id", "5843104000000002181"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "45 items would go in 3 link requests to 1 contact;" in done.stdout
    assert "the first 3 of 3 requests:" in done.stdout
    assert "POST /crm/v8/Contacts/111/Emails/actions/link_record" in done.stdout
    assert '"module":{"api_name":"Deals","id":"5843104000000002181"}' in done.stdout
    assert not (tmp_path / "links.csv.journal.sqlite").exists()


def test_dry_run_reports_bad_rows_by_line_as_the_library_checks_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unlinks.csv"
    path.write_text("contact_id,message_id,owner_id\n111,abc1,333\n111,abc-2,333\n111,abc1,333\n111,abc3,\n")
    assert main(["backfill", "unlink", str(path), "--dry-run"]) == 1
    captured = capsys.readouterr()
    assert "line 3: message_id has characters outside [A-Za-z0-9]" in captured.err
    assert "line 4: duplicates line 2 (same contact_id and message_id)" in captured.err
    assert "line 5: owner_id is missing" in captured.err
    assert "1 item would go in 1 unlink request to 1 contact;" in captured.out
    assert "the request:" in captured.out
    assert "DELETE /crm/v8/Contacts/111/Emails/actions/link_record?owner_id=333&message_ids=abc1" in captured.out


async def test_unlink_of_emails_that_are_not_linked_ends_done_as_not_linked(tmp_path: Path) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=2, emails=3)
        fake.world.link_directly(rows[0]["message_id"], rows[0]["deal_id"])  # one linked, five never were
        path = write_csv(tmp_path / "unlink.csv", rows, ["contact_id", "message_id", "owner_id"])
        report = tmp_path / "report.jsonl"
        code = await run_cli(["backfill", "unlink", str(path), "--report", str(report), "-q", *connection_args(fake)])
        assert code == 0  # the state asked for, for every email
        lines = read_report(report)
        assert [line["code"] for line in lines] == ["SUCCESS"] + ["NOT_LINKED"] * 5
        assert {line["status"] for line in lines} == {"success"}
        assert all(fake.link_of(row["message_id"]) is None for row in rows)


async def test_link_learns_the_deals_module_id_once_and_a_missing_scope_says_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        rows = make_world(fake, contacts=3, emails=25)
        path = write_csv(tmp_path / "links.csv", rows)
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 0
        assert fake.stats.requests["get_module"] == 1
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
    async with FakeZoho(FakeConfig(scope="ZohoCRM.modules.ALL")) as fake:
        rows = make_world(fake, contacts=1, emails=2)
        path = write_csv(tmp_path / "more.csv", rows)
        capsys.readouterr()
        assert await run_cli(["backfill", "link", str(path), "-q", *connection_args(fake)]) == 1
        said = capsys.readouterr().err
        assert "ZohoCRM.settings.modules.READ" in said and "--deals-module-id" in said
        assert fake.stats.requests["link_emails"] == 0
        argv = ["backfill", "link", str(path), "--deals-module-id", DEALS_MODULE_ID, "-q", *connection_args(fake)]
        assert await run_cli(argv) == 0
        assert all(fake.link_of(row["message_id"]) == row["deal_id"] for row in rows)
