"""Every output path of every command is checked before any request: one line, exit 2, nothing left behind
(issue 19, point 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.first_day import asked_nothing, cli, one_line, pointed_at
from tests.cli_helpers import make_world, write_csv
from zcrm_async.testing import FakeZoho


@pytest.fixture
def served() -> Iterator[tuple[FakeZoho, str]]:
    fake = FakeZoho()
    with fake.serving_in_thread() as url:
        yield fake, url


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("flag", "where", "says"),
    [
        ("--plan", "nodir/plan.csv", "cannot write --plan {path}: the folder {parent} does not exist"),
        ("--report", "nodir/judged.jsonl", "cannot write --report {path}: the folder {parent} does not exist"),
        ("--plan", "a-folder", "cannot write --plan {path}: it is a folder"),
        ("--plan", "plan.csv+relink-folder", "cannot write --plan {sibling}: it is a folder"),
    ],
)
def test_audit_refuses_an_output_it_could_not_write_before_any_request(
    tmp_path: Path, served: tuple[FakeZoho, str], flag: str, where: str, says: str
) -> None:
    fake, url = served
    fake.seed_misfiled(contacts=2)
    sibling = tmp_path / "plan.relink.csv"
    if where == "a-folder":
        path = _folder(tmp_path)
    elif where.endswith("relink-folder"):
        path = tmp_path / "plan.csv"
        sibling.mkdir()  # the plan's relink file, which the audit would replace
    else:
        path = tmp_path / where
    result = cli("audit", "--rule", "no-closed-lost", flag, str(path), *pointed_at(url, fake), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result)
    assert line == "zcrm-async: error: " + says.format(path=path, parent=path.parent, sibling=sibling), line
    assert asked_nothing(fake)
    assert not (tmp_path / "plan.csv").exists()


def test_backfill_refuses_a_journal_in_a_missing_folder_before_any_request(
    tmp_path: Path, served: tuple[FakeZoho, str]
) -> None:
    fake, url = served
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    journal = tmp_path / "nodir" / "j.sqlite"
    result = cli("backfill", "link", str(path), "--journal", str(journal), *pointed_at(url, fake))
    assert result.returncode == 2
    assert one_line(result).endswith(f"cannot write --journal {journal}: the folder {journal.parent} does not exist")
    assert asked_nothing(fake)


def test_backfill_refuses_a_journal_that_is_a_folder(tmp_path: Path, served: tuple[FakeZoho, str]) -> None:
    fake, url = served
    path = write_csv(tmp_path / "links.csv", make_world(fake, contacts=1, emails=1))
    folder = _folder(tmp_path)
    result = cli("backfill", "link", str(path), "--journal", str(folder), *pointed_at(url, fake))
    assert result.returncode == 2
    assert one_line(result).endswith(f"cannot write --journal {folder}: it is a folder")
    assert asked_nothing(fake)


def test_demo_refuses_a_workdir_that_is_a_file(tmp_path: Path) -> None:
    workdir = tmp_path / "taken"
    workdir.write_text("a file\n")
    result = cli("demo", "-q", "--contacts", "2", "--workdir", str(workdir))
    assert result.returncode == 2
    assert one_line(result) == f"zcrm-async: error: cannot use --workdir {workdir}: it is a file"
    assert workdir.read_text() == "a file\n"


def test_fake_server_refuses_a_sample_path_in_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nodir" / "sample.csv"
    result = cli("fake-server", "--write-sample", str(target))
    assert result.returncode == 2
    assert one_line(result) == (
        f"zcrm-async: error: cannot write --write-sample {target}: the folder {target.parent} does not exist"
    )
    assert result.stdout == ""  # the server never started


@pytest.mark.parametrize("where", ["a-folder", "a-file/zoho.env"])
def test_auth_exchange_refuses_a_save_path_it_could_not_write_before_spending_the_code(
    tmp_path: Path, served: tuple[FakeZoho, str], where: str
) -> None:
    fake, url = served
    if where == "a-folder":
        target = _folder(tmp_path)
    else:
        (tmp_path / "a-file").write_text("x")
        target = tmp_path / where
    cfg = fake.config
    result = cli(
        "auth", "exchange", "--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
        "--client-secret", cfg.client_secret, "--code", fake.grant_code(), "--save", str(target), "--force",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot write --save {target}" in one_line(result)
    assert asked_nothing(fake)
