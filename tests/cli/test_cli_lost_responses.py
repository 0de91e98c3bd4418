"""``zcrm-async backfill unlink`` and ``relink`` of 6,000 emails while the wire loses responses and drops
connections: every email ends where it should, the run exits 0, and no item is reported failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import connection_args, make_world, read_report, run_cli, write_csv, write_jsonl
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

CONTACTS, EMAILS_EACH = 300, 20  # 6,000 emails


async def test_unlink_of_6000_with_5_percent_lost_responses_unlinks_all_and_exits_0(tmp_path: Path) -> None:
    async with FakeZoho(FakeConfig(seed=21)) as fake:
        rows = make_world(fake, contacts=CONTACTS, emails=EMAILS_EACH)
        for row in rows:
            fake.world.link_directly(row["message_id"], row["deal_id"])
        fake.set_faults(lost_response_rate=0.05)
        path = write_csv(tmp_path / "unlink.csv", rows, ["contact_id", "message_id", "owner_id"])
        report = tmp_path / "report.jsonl"

        code = await run_cli(["backfill", "unlink", str(path), "--report", str(report), "-q", *connection_args(fake)])

        assert fake.stats.lost_responses > 0
        lines = read_report(report)
        assert code == 0
        assert len(lines) == 6000 and {line["code"] for line in lines} == {"SUCCESS"}
        assert all(fake.link_of(row["message_id"]) is None for row in rows)


async def test_relink_of_6000_with_lost_responses_and_drops_moves_all_and_exits_0(tmp_path: Path) -> None:
    async with FakeZoho(FakeConfig(seed=22)) as fake:
        rows = make_world(fake, contacts=CONTACTS, emails=EMAILS_EACH)
        moves = []
        for row in rows:  # every email linked to its contact's first deal, to be moved to a second one
            fake.world.link_directly(row["message_id"], row["deal_id"])
        second = {row["contact_id"]: fake.add_deal("Second", [row["contact_id"]]) for row in rows}
        moves = [{**row, "deal_id": second[row["contact_id"]], "deal_name": "Second"} for row in rows]
        fake.set_faults(lost_response_rate=0.05, drop_rate=0.02)
        path = write_jsonl(tmp_path / "relink.jsonl", moves)
        report = tmp_path / "report.jsonl"

        code = await run_cli(["backfill", "relink", str(path), "--report", str(report), "-q", *connection_args(fake)])

        assert fake.stats.lost_responses > 0 and fake.stats.dropped > 0
        lines = read_report(report)
        assert code == 0
        assert len(lines) == 6000 and {line["code"] for line in lines} == {"SUCCESS"}
        assert all(fake.link_of(move["message_id"]) == move["deal_id"] for move in moves)
