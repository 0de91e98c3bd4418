"""``zcrm-async records export`` by each path (COQL, Get Records, Bulk Read), through the real CLI against FakeZoho:
a read that fails midway and one Zoho refuses from the start leave no file under the name and exit non-zero, lost
answers still give every record once, and bad usage of each path is refused before any request reaches the server
(the token's included)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import anyio
import pytest

from tests.cli_helpers import connection_args, run_cli
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio

PATHS = ["coql", "records", "bulk"]
#: The request of each path that carries records: the one after which a read is midway.
READS = {"coql": "coql", "records": "get_records", "bulk": "download_bulk_read"}


def export_args(fake: FakeZoho, out: Path, by: str, *extra: str, module: str = "Contacts") -> list[str]:
    return ["records", "export", module, "--fields", "Last_Name,Email", "--out", str(out), "--by", by, "-q", *extra,
            *connection_args(fake)]  # fmt: skip


def exported_ids(out: Path) -> list[str]:
    if out.suffix == ".jsonl":
        return [json.loads(line)["id"] for line in out.read_text().splitlines()]
    with out.open(newline="") as file:
        return [row[0] for row in list(csv.reader(file))[1:]]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".jsonl", ".partial"))


@pytest.mark.parametrize("by", PATHS)
async def test_an_export_whose_read_fails_midway_leaves_no_file_and_exits_non_zero(tmp_path: Path, by: str) -> None:
    config = FakeConfig(bulk_job_seconds=0.0, bulk_read_page_size=1_000, latency=0.1)
    async with FakeZoho(config) as fake:
        for i in range(2_500):
            fake.world.add_record("Contacts", f"C{i}", email=f"c{i}@example.org")
        out = tmp_path / "contacts.csv"

        async def refuse_after_the_first_read() -> None:
            while fake.stats.requests[READS[by]] < 1:  # noqa: ASYNC110 (the fake has no event for an arrival)
                await anyio.sleep(0.002)
            fake.revoke_refresh_token()  # the next call's token is refused, and so is its refresh
            fake.expire_tokens()

        async with anyio.create_task_group() as tg:
            tg.start_soon(refuse_after_the_first_read)
            code = await run_cli(export_args(fake, out, by))
        assert code != 0
        assert fake.stats.requests[READS[by]] >= 1  # it was midway: records had come
        assert leftovers(tmp_path) == []  # nothing under the name, no partial file left


@pytest.mark.parametrize("by", PATHS)
async def test_an_export_zoho_refuses_exits_non_zero_with_its_code_and_no_file(
    tmp_path: Path, by: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho(FakeConfig(bulk_job_seconds=0.0)) as fake:
        out = tmp_path / "nowhere.csv"
        code = await run_cli(export_args(fake, out, by, module="Nowhere"))
        said = "".join(capsys.readouterr())
        assert code != 0
        assert any(name in said for name in ("INVALID_MODULE", "INVALID_QUERY", "MODULE_NOT_AVAILABLE",
                                             "INVALID_URL_PATTERN")), said  # fmt: skip
        assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("by", "suffix"), [("coql", ".csv"), ("records", ".jsonl"), ("bulk", ".csv")])
async def test_an_export_with_lost_answers_writes_every_record_once(tmp_path: Path, by: str, suffix: str) -> None:
    config = FakeConfig(seed=17, bulk_job_seconds=0.0, bulk_read_page_size=1_000)
    async with FakeZoho(config) as fake:
        ids = [fake.world.add_record("Contacts", f"C{i}", email=f"c{i}@example.org").id for i in range(2_500)]
        fake.set_faults(lost_response_rate=0.3, drop_rate=0.15, error_rate=0.1)
        out = tmp_path / f"contacts{suffix}"
        assert await run_cli(export_args(fake, out, by)) == 0
        assert sorted(exported_ids(out)) == sorted(ids)
        assert fake.stats.dropped + fake.stats.lost_responses + fake.stats.errors_500 > 0


@pytest.mark.parametrize(
    ("by", "extra"),
    [
        ("coql", ["--where", "Last_Name ~ x"]),
        ("coql", ["--where", "Bad-Name = x"]),
        ("records", ["--where", "Last_Name = x"]),  # Get Records would ignore the filter: refused, not ignored
        ("bulk", ["--where", "Last_Name = x"]),
        ("records", ["--fields", ""]),
        ("bulk", ["--fields", "Last_Name,Last_Name"]),
    ],
)
async def test_bad_usage_of_each_path_is_refused_before_any_request(
    tmp_path: Path, by: str, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        fake.add_contact("Smith")
        code = await run_cli(export_args(fake, tmp_path / "o.csv", by, *extra))
        assert code == 2, capsys.readouterr()
        assert sum(fake.stats.requests.values()) == 0 and leftovers(tmp_path) == []


async def test_get_records_past_its_reach_is_refused_before_any_page_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeZoho() as fake:
        for i in range(100_001):
            fake.world.add_record("Contacts", f"C{i}")
        code = await run_cli(export_args(fake, tmp_path / "o.csv", "records"))
        assert code == 2
        assert "reaches 100,000" in capsys.readouterr().err
        assert fake.stats.requests["record_count"] == 1 and "get_records" not in fake.stats.requests
        assert leftovers(tmp_path) == []
