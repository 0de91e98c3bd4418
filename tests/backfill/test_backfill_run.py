"""``zcrm_async.backfill.run`` from a service's code: any op with a layout of its own, a stop asked for and resumed,
rows Zoho refused sent again on request, and a journal of another layout refused."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from tests.cli_helpers import make_world
from zcrm_async import ItemProblem, ItemResult, ZohoCRM, backfill
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

LAYOUT = backfill.Layout(fields=("sku", "price"), key=("sku",))


@dataclasses.dataclass
class PriceOp:
    """A backfill of its own: each row "sets a price" by remembering it, and asks its stop after ``stop_after``."""

    stop: backfill.Stop
    stop_after: int
    written: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    name: str = "prices"
    layout: backfill.Layout = LAYOUT
    main_call: str = "records.update"

    def problems(self, rows: Sequence[Mapping[str, str]]) -> list[ItemProblem]:
        return [ItemProblem(i, "price", "must be a number") for i, row in enumerate(rows) if not row["price"].isdigit()]

    async def prepare(self, crm: ZohoCRM) -> None:
        return None

    async def send(
        self, crm: ZohoCRM, batch: Sequence[backfill.JournalItem], answered: backfill.Answered,
        remember: backfill.Remember,
    ) -> None:  # fmt: skip
        for row in batch:
            self.written.setdefault(row.fields["sku"], []).append(row.fields["price"])
            answered([(row.line, ItemResult(item=row.fields, code="SUCCESS", status="success"))])
            if sum(map(len, self.written.values())) == self.stop_after:
                self.stop.request()

    async def settle(self, crm: ZohoCRM, batch: Sequence[backfill.JournalItem]) -> backfill.Settlement:
        found = backfill.Settlement()
        for row in batch:  # read back: the price is there, or it was never set
            if row.fields["sku"] in self.written:
                found.outcomes.append(backfill.Outcome(row.line, "SUCCESS", "success", "read back", 1))
            else:
                found.resend.append(row.line)
        return found


def _client() -> ZohoCRM:
    return ZohoCRM(client_id="1", client_secret="s", refresh_token="r", api_domain="http://127.0.0.1:9")


async def test_an_op_of_its_own_stops_when_asked_and_resumes_sending_each_row_once(tmp_path: Path) -> None:
    rows = [{"sku": f"sku{n}", "price": str(n)} for n in range(50)]
    rows += [{"sku": "sku3", "price": "7"}, {"sku": "bad", "price": "ten"}]  # a repeat, a refused row
    journal = tmp_path / "prices.journal.sqlite"
    stop = backfill.Stop()
    op = PriceOp(stop, stop_after=12)
    source = backfill.rows_source(op, rows, name="prices")
    first = await backfill.run(_client(), op, source, journal=journal, stop=stop, batch_size=5, batches_in_flight=1)
    assert first.stopped is backfill.StopReason.REQUESTED
    assert first.states["pending"] > 0 and first.states.get("done", 0) >= 12

    op.stop = backfill.Stop()
    op.stop_after = -1
    report = tmp_path / "report.jsonl"
    again = await backfill.run(_client(), op, source, journal=journal, stop=op.stop, report=report)
    assert again.stopped is None
    assert again.outcomes == {("SUCCESS", "success"): 50, ("INVALID_ROW", "error"): 2}
    assert {sku: prices for sku, prices in op.written.items() if len(prices) != 1} == {}  # each row once
    assert len(op.written) == 50
    lines = report.read_text().splitlines()
    assert len(lines) == 52 and '"sku":"sku0"' in lines[0] and '"price":"0"' in lines[0]
    assert "duplicates line 4 (same sku)" in lines[50] and "price must be a number" in lines[51]


async def test_a_journal_of_another_layout_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite"
    with backfill.Journal(journal, backfill.EMAIL_LAYOUT):
        pass
    with pytest.raises(backfill.JournalMismatch, match="keeps other rows"):
        backfill.Journal(journal, LAYOUT)
    with sqlite3.connect(journal) as db:  # nothing was changed by the refusal
        columns = [row[1] for row in db.execute("PRAGMA table_info(items)")]
    assert "contact_id" in columns and "sku" not in columns


async def test_rows_zoho_refused_are_sent_again_with_retry_failed(tmp_path: Path) -> None:
    fake = FakeZoho()
    rows = make_world(fake, contacts=2, emails=2)
    other_deal = rows[2]["deal_id"]
    rows[0]["deal_id"] = other_deal  # the first contact is not on the second contact's deal: NOT_ALLOWED
    journal = tmp_path / "links.journal.sqlite"
    source = backfill.rows_source(backfill.LINK, rows, name="links")
    async with fake, ZohoCRM(**_credentials(fake)) as crm:
        first = await backfill.run(crm, backfill.LINK, source, journal=journal)
        assert first.outcomes == {("SUCCESS", "success"): 3, ("NOT_ALLOWED", "error"): 1}
        again = await backfill.run(crm, backfill.LINK, source, journal=journal)
        assert again.retried == 0 and again.outcomes == first.outcomes  # final: a rerun sends nothing
        fake.associate(rows[0]["contact_id"], other_deal)  # the cause fixed
        fake.reset_stats()
        retried = await backfill.run(crm, backfill.LINK, source, journal=journal, retry_failed=True)
    assert retried.retried == 1 and retried.outcomes == {("SUCCESS", "success"): 4}
    assert fake.stats.requests["link_emails"] == 1  # only the refused row was sent
    assert fake.link_of(rows[0]["message_id"]) == other_deal


def _credentials(fake: FakeZoho) -> dict[str, str]:
    cfg = fake.config
    return {"client_id": cfg.client_id, "client_secret": cfg.client_secret, "refresh_token": cfg.refresh_token,
            "api_domain": fake.url, "accounts_url": fake.url}  # fmt: skip
