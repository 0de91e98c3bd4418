"""The README's snippets and its audit session run as written against FakeZoho (issue 19).

Each ```python block runs: the ones that open their own client get a ``ZohoCRM`` pointed at a FakeZoho (the
README's placeholder credentials and data centre would reach Zoho); the fragments that use a ``crm`` get one, with
top-level ``await``. The README's example ids are the one substitution: they are replaced by ids of the fake's
world. The audit session (```bash with ``$`` prompts) runs command by command against ``zcrm-async fake-server``,
and its figures must be what the commands print.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import os
import re
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import zcrm_async
from zcrm_async.testing import FakeZoho

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [textwrap.dedent(body) for _, lang, body in FENCE.findall(README) if lang == language]


def python_block(marker: str) -> str:
    (block,) = [block for block in blocks("python") if marker in block]
    return block


def test_every_python_block_is_run_by_a_test_here() -> None:
    markers = [
        'crm.records.iterate("Deals"', "anyio.run(main)", "link_deal_stream(links_from", "crm.records.coql(query)",
        "crm.bulk.read.export(", "RedisLimiter.from_url",
        "async with audit(crm", "async with FakeZoho(", "backfill.run(crm",
    ]  # fmt: skip
    assert len(blocks("python")) == len(markers)
    for marker in markers:
        python_block(marker)


@contextlib.contextmanager
def pointed_at(fake: FakeZoho, url: str) -> Iterator[None]:
    """``zcrm_async.ZohoCRM`` (as the snippets import it) talks to the fake, whatever credentials they give."""
    real = zcrm_async.ZohoCRM
    cfg = fake.config

    class AtTheFake(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            kwargs.update(client_id=cfg.client_id, client_secret=cfg.client_secret, refresh_token=cfg.refresh_token,
                          api_domain=url, accounts_url=url)  # fmt: skip
            super().__init__(**kwargs)

    zcrm_async.ZohoCRM = AtTheFake  # type: ignore[misc]
    try:
        yield
    finally:
        zcrm_async.ZohoCRM = real  # type: ignore[misc]


def run_with_crm(code: str, fake: FakeZoho, url: str, **names: Any) -> str:
    """Run a fragment that uses ``crm`` (top-level await allowed); returns what it printed."""
    compiled = compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()

    async def main() -> None:
        with pointed_at(fake, url):
            async with zcrm_async.ZohoCRM() as crm:
                result = eval(compiled, {"crm": crm, **names})  # the README's own code
                if result is not None:
                    await result

    with contextlib.redirect_stdout(printed):
        anyio.run(main)
    return printed.getvalue()


@pytest.fixture
def world() -> Iterator[tuple[FakeZoho, str, dict[str, str]]]:
    fake = FakeZoho()
    owner = fake.add_user("Patricia Boyle")
    contact = fake.add_contact("Ada")
    deal = fake.add_deal("Travel Insurance", [contact])
    message = fake.add_email(contact, owner, received=False)
    ids = {"contact": contact, "deal": deal, "owner": owner, "message": message}
    with fake.serving_in_thread() as url:
        yield fake, url, ids


def test_finding_a_contacts_deals(world: tuple[FakeZoho, str, dict[str, str]]) -> None:
    fake, url, ids = world
    out = run_with_crm(python_block('crm.records.iterate("Deals"'), fake, url, contact_id=ids["contact"])
    assert out == f"{ids['deal']} Travel Insurance\n"


def test_using_the_library(world: tuple[FakeZoho, str, dict[str, str]]) -> None:
    fake, url, ids = world
    code = python_block("anyio.run(main)")
    for placeholder, real in (("5843104000000425349", ids["contact"]), ("8937fb89...", ids["message"]),
                              ("5843104000004382122", ids["deal"]), ("5843104000000424672", ids["owner"])):  # fmt: skip
        assert placeholder in code
        code = code.replace(placeholder, real)
    printed = io.StringIO()
    with pointed_at(fake, url), contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})  # the README's own code
    assert printed.getvalue().splitlines()[-1] == "{'SUCCESS': 1}"  # a dict, as the comment shows
    assert fake.link_of(ids["message"]) == ids["deal"]


def test_coql_and_search(world: tuple[FakeZoho, str, dict[str, str]]) -> None:
    fake, url, ids = world
    out = run_with_crm(python_block("crm.records.coql(query)"), fake, url, contact_id=ids["contact"])
    assert out == f"{ids['deal']} Travel Insurance\n"


def test_bulk_read_and_write(
    world: tuple[FakeZoho, str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url, ids = world
    monkeypatch.chdir(tmp_path)
    rows = [{"Last_Name": "Lovelace", "Email": "ada@example.net"}]
    out = run_with_crm(python_block("crm.bulk.read.export("), fake, url, rows=rows)
    assert out.splitlines() and out.splitlines()[0].startswith(ids["contact"])


def test_streaming_links_from_a_csv(
    world: tuple[FakeZoho, str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url, ids = world
    other = fake.add_email(ids["contact"], ids["owner"], received=False)
    monkeypatch.chdir(tmp_path)
    with open("links.csv", "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["contact_id", "message_id", "deal_id", "owner_id"])
        writer.writerow([ids["contact"], ids["message"], ids["deal"], ids["owner"]])
        writer.writerow([ids["contact"], other, "5843104000000000001", ids["owner"]])  # no such deal
    out = run_with_crm(python_block("link_deal_stream(links_from"), fake, url)
    (line,) = out.splitlines()
    assert line.startswith(f"1 {other} ")  # the failed item, by its input position
    assert fake.link_of(ids["message"]) == ids["deal"]


def test_a_resumable_backfill_from_your_own_code(
    world: tuple[FakeZoho, str, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url, ids = world
    monkeypatch.chdir(tmp_path)
    code = python_block("backfill.run(crm")
    names = {"contact_id": ids["contact"], "message_id": ids["message"], "deal_id": ids["deal"],
             "owner_id": ids["owner"]}  # fmt: skip
    out = run_with_crm(code, fake, url, **names)
    assert out == "None {('SUCCESS', 'success'): 1}\n"  # as the comment shows
    assert fake.link_of(ids["message"]) == ids["deal"]
    assert (tmp_path / "migration-7.journal.sqlite").is_file()
    fake.reset_stats()
    assert run_with_crm(code, fake, url, **names) == out  # run again: the journal has it done
    assert fake.stats.requests["link_emails"] == 0


def test_sharing_a_budget_through_redis(world: tuple[FakeZoho, str, dict[str, str]], redis_port: int) -> None:
    fake, url, _ = world
    code = python_block("RedisLimiter.from_url").replace("redis://10.0.0.5/0", f"redis://127.0.0.1:{redis_port}/0")
    names = {"CLIENT_ID": "1000.XXXX", "CLIENT_SECRET": "...", "REFRESH_TOKEN": "1000.xxxx",
             "Budget": zcrm_async.Budget}  # fmt: skip
    code = "from zcrm_async import ZohoCRM\n" + code  # the names the page's first snippet imported
    import redis

    with redis.Redis(port=redis_port) as client:
        before = set(client.keys("*acme*"))
        run_with_crm(code, fake, url, **names)
        assert set(client.keys("*acme*")) - before  # the token is kept there for the org
    assert fake.stats.token_refreshes == 1


def test_an_audit_from_a_service(world: tuple[FakeZoho, str, dict[str, str]]) -> None:
    fake, url, _ = world
    seeded = fake.seed_misfiled(contacts=4)
    out = run_with_crm(python_block("async with audit(crm"), fake, url)
    printed = out.splitlines()
    assert printed and all(line.split()[0] in {"move", "link", "unlink"} for line in printed)
    assert {line.split()[1] for line in printed} <= set(seeded.message_ids)


def test_testing_against_fakezoho() -> None:
    code = compile(python_block("async with FakeZoho("), "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    async def main() -> None:
        await eval(code, {})  # the README's own code

    anyio.run(main)


# -- the audit session, command by command -----------------------------------------------------------------


def session() -> list[tuple[str, list[str]]]:
    """The ``$`` commands of the audit session, each with the output lines the README shows under it."""
    (block,) = [block for block in blocks("bash") if "--seed-misfiled 50" in block]
    commands: list[tuple[str, list[str]]] = []
    pending = ""
    for line in block.splitlines():
        if line.startswith("$ ") or pending:
            text = (pending + " " + line.removeprefix("$ ").strip()).strip()
            pending = text[:-1] if text.endswith("\\") else ""
            if not pending:
                commands.append((text, []))
        elif commands:
            commands[-1][1].append(line)
    return commands


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_audit_session_runs_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    port = str(_free_port())
    (start, _), *rest = session()
    assert start.startswith("zcrm-async fake-server --port 8080 --seed-misfiled 50 &")
    server = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.cli", "fake-server", "--port", port, "--seed-misfiled", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if line.startswith("FakeZoho listening on"):
                break
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        checked = 0
        for command, shown in rest:
            command = command.split("   #")[0].replace("8080", port)
            if command.startswith("export "):
                for assignment in command.removeprefix("export ").split():
                    name, _, value = assignment.partition("=")
                    env[name] = value
                continue
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=120, check=False)  # fmt: skip
            assert done.returncode == 0, (command, done.stderr[-2000:])
            checked += _check_figures(shown, done.stdout)
        assert checked >= 10  # the tally's figures, the plan line and the commands it names
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def _check_figures(shown: list[str], printed: str) -> int:
    """Every "name  N" figure and "plan: ..." line the README shows is in what the command printed; returns how
    many lines were checked."""
    checked = 0
    table = {}
    for line in printed.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│") if cell.strip()]
        if len(cells) == 2:
            table[cells[0]] = cells[1]
    for line in shown:
        figure = re.fullmatch(r"\s+([a-z][a-z ]*?)\s{2,}(\d+)", line)
        if figure:
            assert table.get(figure.group(1)) == figure.group(2), (line, table)
        elif line.startswith("plan: ") or re.fullmatch(r"\s+zcrm-async backfill \w+ \S+", line):
            assert line in printed.splitlines(), (line, printed)
        else:
            continue
        checked += 1
    return checked
