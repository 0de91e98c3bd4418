"""The cells of the Bulk Read and Bulk Write matrix (tests/records/COVERAGE.md) the other bulk tests leave, each
through the real aiohttp transport against FakeZoho on a clock the client's sleeps move: a job refused at creation,
a creation whose answer was lost, a wait for a job that fails, an export of several jobs (``more_records``) with
lost answers or a later job failing, an upload refused before any request, a Bulk Write whose every row fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bulk_jobs.helpers import Clock, bulk_world, seed_contacts
from zcrm_async import BulkJobFailed, InvalidRequestError

pytestmark = pytest.mark.anyio

FIELDS = ["Last_Name", "Email"]


def sent(fake: Any) -> int:
    return sum(count for name, count in fake.stats.requests.items() if name != "token")


# -- Bulk Read ----------------------------------------------------------------------------------------------


async def test_a_bulk_read_job_zoho_refuses_raises_its_code_and_no_job_exists() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        with pytest.raises(InvalidRequestError) as caught:
            await crm.bulk.read.create("Nope", fields=FIELDS)
        assert caught.value.code == "MODULE_NOT_AVAILABLE" and not fake.bulk.jobs
        with pytest.raises(InvalidRequestError):
            [row async for row in crm.bulk.read.export("Nope", fields=FIELDS)]
        assert fake.bulk.downloads == 0


class LosingClock(Clock):
    """The bulk clock, and every write's answer lost until the client first backs off (then answered again)."""

    def __init__(self) -> None:
        super().__init__()
        self.fake: Any = None

    async def sleep(self, seconds: float) -> None:
        if self.fake is not None:
            self.fake.set_faults(lost_response_rate=0.0)
        await super().sleep(seconds)


async def test_a_bulk_read_creation_whose_answer_was_lost_is_sent_again_and_answers_a_job() -> None:
    clock = LosingClock()
    async with bulk_world(seconds=0.0, clock=clock) as (fake, crm, _):
        seed_contacts(fake, 5)
        clock.fake = fake
        fake.set_faults(lost_response_rate=1.0)
        job = await crm.bulk.read.create("Contacts", fields=FIELDS)
        assert fake.stats.lost_responses == 1
        # The replay made a second job (50 more credits, Zoho's price of not knowing); no rows come twice from it.
        assert job.id in fake.bulk.jobs and fake.stats.requests["create_bulk_read"] == 2
        done = await crm.bulk.read.wait(job.id)
        assert done.result is not None and done.result.count == 5


async def test_waiting_for_a_bulk_read_job_that_fails_raises_with_zohos_reason() -> None:
    async with bulk_world(seconds=5.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.fail_next.append("the export broke")
        job = await crm.bulk.read.create("Contacts", fields=FIELDS)
        with pytest.raises(BulkJobFailed) as caught:
            await crm.bulk.read.wait(job.id)
        assert caught.value.state == "FAILURE" and "the export broke" in str(caught.value)


async def test_an_export_of_several_jobs_with_lost_answers_gives_every_row_once_in_order() -> None:
    async with bulk_world(seconds=4.0, bulk_read_page_size=25, seed=13) as (fake, crm, _):
        ids = seed_contacts(fake, 70)
        fake.set_faults(lost_response_rate=0.4, drop_rate=0.2, error_rate=0.1)
        rows = [row["id"] async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]
        assert rows == ids
        assert fake.stats.lost_responses + fake.stats.dropped + fake.stats.errors_500 > 0
        assert fake.bulk.downloads >= 3  # three pages of 25: more_records was followed past the first


async def test_when_a_later_jobs_export_fails_the_read_raises_after_the_earlier_pages_rows() -> None:
    async with bulk_world(seconds=0.0, bulk_read_page_size=25) as (fake, crm, _):
        ids = seed_contacts(fake, 60)
        seen: list[str] = []
        with pytest.raises(BulkJobFailed):
            async for row in crm.bulk.read.export("Contacts", fields=FIELDS):
                seen.append(row["id"])
                if len(seen) == 1:
                    fake.bulk.fail_next.append("page two failed")
        assert seen == ids[:25]  # the first page, whole; nothing after it passes for the rest


# -- Bulk Write ---------------------------------------------------------------------------------------------


async def test_an_upload_of_a_file_that_is_missing_or_not_a_zip_is_refused_before_any_request(tmp_path: Path) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        with pytest.raises(FileNotFoundError):
            await crm.bulk.write.upload(tmp_path / "missing.zip")
        text = tmp_path / "rows.zip"
        text.write_text("Last_Name\nx\n")
        with pytest.raises(ValueError, match="not a ZIP file"):
            await crm.bulk.write.upload(text)
        assert sent(fake) == 0


async def test_bulk_write_job_ids_are_checked_before_any_request() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        for bad in ("../1", "", "1 2"):
            with pytest.raises(ValueError, match="letters and digits"):
                await crm.bulk.write.status(bad)
            with pytest.raises(ValueError, match="letters and digits"):
                await crm.bulk.write.wait(bad)
        assert sent(fake) == 0


async def test_waiting_for_a_bulk_write_job_that_fails_raises() -> None:
    async with bulk_world(seconds=3.0) as (fake, crm, _):
        fake.bulk.fail_next.append("could not process")
        result = await crm.bulk.write.run("Contacts", [{"Last_Name": "A"}], columns=["Last_Name"])
        assert result.counts == {"BULK_JOB_FAILED": 1}
        job_id = next(iter(fake.bulk.jobs))
        with pytest.raises(BulkJobFailed) as caught:
            await crm.bulk.write.wait(job_id)
        assert caught.value.state == "FAILED"


async def test_a_bulk_write_whose_every_row_fails_gives_each_row_its_error() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        rows = [{"Last_Name": "", "Email": f"x{i}@example.net"} for i in range(4)]
        result = await crm.bulk.write.run("Contacts", rows, columns=FIELDS)
        assert [r.code for r in result] == ["MANDATORY_NOT_FOUND"] * 4 and not result.ok
        assert [r.item for r in result] == rows
        assert fake.world.records_of("Contacts") == []
