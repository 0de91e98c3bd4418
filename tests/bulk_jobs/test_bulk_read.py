"""Bulk Read end to end: the real aiohttp transport against FakeZoho on 127.0.0.1, jobs moving through their states
on a clock the client's sleeps move (no real waiting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bulk_jobs.helpers import bulk_world, seed_contacts, zip_bytes
from zcrm_async import BulkFileError, BulkJobFailed, ResponseTooLarge, RetryPolicy, TransportError
from zcrm_async.bulk_jobs import Poll

pytestmark = pytest.mark.anyio

FIELDS = ["Last_Name", "Email"]


async def test_an_export_waits_for_the_job_then_streams_every_row_with_its_id() -> None:
    async with bulk_world(seconds=30.0) as (fake, crm, clock):
        ids = seed_contacts(fake, 120)
        rows = [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]

        assert [row["id"] for row in rows] == ids
        assert rows[7] == {"id": ids[7], "Last_Name": "Last 7", "Email": "p7@example.net"}
        assert fake.stats.requests["create_bulk_read"] == 1
        assert fake.stats.requests["download_bulk_read"] == 1
        # Waited with growing pauses (2, 3, 4.5, ...) until the 30 s job was done: a few reads, not hundreds.
        assert clock.slept[:3] == [2.0, 3.0, 4.5]
        assert 3 <= fake.bulk.status_reads <= 8


async def test_the_budget_counts_50_credits_a_job_and_1_per_status_read_and_download_as_zoho_does() -> None:
    async with bulk_world(seconds=10.0, bulk_read_page_size=40) as (fake, crm, _):
        seed_contacts(fake, 100)
        rows = [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]

        assert len(rows) == 100
        jobs, reads, downloads = 3, fake.bulk.status_reads, fake.bulk.downloads
        assert fake.stats.requests["create_bulk_read"] == jobs and downloads == jobs
        assert crm.counters.credits_spent == 50 * jobs + reads + downloads == fake.credits_used


async def test_past_a_page_the_next_job_takes_the_page_token_and_every_record_comes_once_in_order() -> None:
    async with bulk_world(seconds=0.0, bulk_read_page_size=25) as (fake, crm, _):
        ids = seed_contacts(fake, 60)
        rows = [row["id"] async for row in crm.bulk.read.export("Contacts", fields=["Last_Name"])]

        assert rows == ids
        queries = [job.body["query"] for job in fake.bulk.jobs.values()]
        assert [q.get("page") for q in queries] == [1, None, None]
        assert [q.get("page_token", "").split(".")[0] for q in queries] == ["", "2", "3"]


async def test_one_job_by_page_number_and_its_result() -> None:
    async with bulk_world(seconds=0.0, bulk_read_page_size=25) as (fake, crm, _):
        seed_contacts(fake, 60)
        job = await crm.bulk.read.create("Contacts", fields=["Last_Name"], page=3)
        done = await crm.bulk.read.wait(job.id)
        assert done.result is not None
        assert (done.result.page, done.result.count, done.result.more_records) == (3, 10, False)


async def test_criteria_filter_the_export() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 30)
        criteria = {"group_operator": "or", "group": [
            {"field": {"api_name": "Email"}, "comparator": "equal", "value": "p3@example.net"},
            {"field": {"api_name": "Last_Name"}, "comparator": "starts_with", "value": "Last 2"},
        ]}  # fmt: skip
        rows = [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, criteria=criteria)]
        assert sorted(row["Last_Name"] for row in rows) == ["Last 2", *(f"Last {i}" for i in range(20, 30)), "Last 3"]


async def test_a_job_that_fails_raises_with_zohos_reason() -> None:
    async with bulk_world(seconds=5.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.fail_next.append("internal failure while exporting")
        with pytest.raises(BulkJobFailed) as caught:
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]
        assert caught.value.state == "FAILURE" and "internal failure" in str(caught.value)
        assert fake.bulk.downloads == 0


async def test_lost_answers_and_server_errors_on_every_call_are_retried_and_the_rows_are_right() -> None:
    async with bulk_world(seconds=6.0, seed=7) as (fake, crm, _):
        ids = seed_contacts(fake, 80)
        fake.set_faults(error_rate=0.3, drop_rate=0.2, lost_response_rate=0.5)
        rows = [row["id"] async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]

        assert rows == ids
        assert fake.stats.errors_500 > 0 and fake.stats.dropped > 0
        # A lost answer to a create is resent: a second job may exist (50 more credits), the rows come once.
        assert fake.stats.requests["create_bulk_read"] >= 1


async def test_a_broken_zip_is_a_clear_error() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.next_file = b"PK\x03\x04 this is not really a zip"
        with pytest.raises(BulkFileError, match="not a readable ZIP"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]


async def test_a_member_with_a_path_for_a_name_is_refused_and_nothing_is_written_there(tmp_path: Path) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.next_file = zip_bytes({"../../escaped.csv": "id\n1\n"})
        with pytest.raises(BulkFileError, match="not a plain CSV file name"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=tmp_path / "out")]
        assert not _exists(tmp_path / "escaped.csv") and not _exists(Path("escaped.csv"))


def _exists(path: Path) -> bool:
    return path.exists()


async def test_a_zip_of_two_files_or_of_a_truncated_csv_is_refused() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.next_file = zip_bytes({"1.csv": "id\n1\n", "2.csv": "id\n2\n"})
        with pytest.raises(BulkFileError, match="one CSV file; it holds 2"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]
        fake.bulk.next_file = zip_bytes({"3.csv": "id,Last_Name\n1,a\n2\n"})
        with pytest.raises(BulkFileError, match="line 3: 1 values under 2 columns"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]


async def test_a_csv_past_the_size_allowed_is_refused_before_it_is_read() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.next_file = zip_bytes({"4.csv": "id\n" + "1\n" * 500_000})  # 1 MB of CSV, a few KB zipped
        with pytest.raises(BulkFileError, match="more than the 100,000 allowed"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, max_csv_bytes=100_000)]


async def test_a_download_past_its_cap_stops_there() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 2_000)
        with pytest.raises(ResponseTooLarge):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, max_download_bytes=1_000)]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:9", "https://zohoapis.com.evil.example"])
async def test_a_download_url_off_the_api_domain_is_refused_before_any_request(origin: str) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 3)
        fake.bulk.download_origin = origin
        with pytest.raises(ValueError, match="neither the API domain nor one of Zoho's API hosts"):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS)]
        assert fake.bulk.downloads == 0 and fake.stats.requests["download_bulk_read"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"module": ""}, "module must be"),
        ({"module": "Contacts/1"}, "module must be"),
        ({"fields": "Last_Name"}, "fields must be a list"),
        ({"fields": ["Last_Name", ""]}, "fields must be a list"),
        ({"criteria": "Email:equals:x"}, "criteria must be a mapping"),
        ({"callback_url": "ftp://example.com/hook"}, "callback_url must be an https URL"),
        ({"callback_url": "http://example.com/hook"}, "callback_url must be https"),
    ],
)
async def test_bad_input_is_a_clear_error_before_any_request(arguments: dict[str, object], message: str) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        call = {"module": "Contacts", "fields": FIELDS, **arguments}
        with pytest.raises(ValueError, match=message):
            [row async for row in crm.bulk.read.export(**call)]  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=message):
            await crm.bulk.read.create(**call)  # type: ignore[arg-type]
        assert sum(fake.stats.requests.values()) == 0


async def test_page_and_page_token_together_or_a_bad_page_are_refused_before_any_request() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        with pytest.raises(ValueError, match="together"):
            await crm.bulk.read.create("Contacts", page=2, page_token="x")
        with pytest.raises(ValueError, match="positive integer"):
            await crm.bulk.read.create("Contacts", page=0)
        with pytest.raises(ValueError, match="letters and digits"):
            await crm.bulk.read.status("../1")
        assert sum(fake.stats.requests.values()) == 0


async def test_the_fake_answers_zohos_errors_for_bodies_the_client_would_not_send() -> None:
    async with bulk_world(seconds=0.0) as (_fake, crm, _):
        from zcrm_async import raise_for_status

        # private on purpose: the Bulk API's target, to send bodies the client itself never would
        from zcrm_async.bulk_jobs._calls import bulk_target

        callback = '{"query": {"module": {"api_name": "Leads"}}, "callback": {"url": "%s", "method": "%s"}}'
        cases = {
            b"": "REQUEST_BODY_IS_EMPTY",
            b"{": "REQUEST_BODY_NOT_READABLE",
            b'{"query": {}}': "MANDATORY_NOT_FOUND",
            b'{"query": {"module": {"api_name": "Nope"}}}': "MODULE_NOT_AVAILABLE",
            b'{"query": {"module": {"api_name": "Leads"}, "fields": "Email"}}': "INVALID_DATA",
            b'{"query": {"module": {"api_name": "Leads"}, "criteria": {"comparator": "equal"}}}': "INVALID_CRITERIA",
            (callback % ("https://example.com", "post")).encode(): "INVALID_CALLBACK_URL",
            (callback % ("http://127.0.0.1/", "get")).encode(): "INVALID_CALLBACK_METHOD",
        }  # fmt: skip
        for body, code in cases.items():
            response = await crm.request("POST", "/read", operation="x", content=body, target=bulk_target(crm))
            assert response.status == 400, body
            with pytest.raises(Exception) as caught:
                raise_for_status(response)
            assert getattr(caught.value, "code", None) == code, body
        missing = await crm.request("GET", "/read/123", operation="x", target=bulk_target(crm))
        assert missing.status == 404 and b"RESOURCE_NOT_FOUND" in missing.content


async def test_a_half_downloaded_export_is_resumed_from_where_it_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    async with bulk_world(seconds=0.0, retry=RetryPolicy(attempts=1)) as (fake, crm, _):
        ids = seed_contacts(fake, 3_000)
        fake.bulk.cut_downloads, fake.bulk.cut_after = 1, 20_000
        with pytest.raises(TransportError):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=folder)]
        part = folder / "page-1.zip.part"
        assert part.stat().st_size == 20_000

        rows = [row["id"] async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=folder)]

        assert rows == ids
        assert fake.stats.requests["create_bulk_read"] == 1  # the job of the first run, reused
        assert fake.bulk.range_requests == 1 and not part.exists()


async def test_a_resumed_file_that_does_not_read_is_fetched_again_from_the_start(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    async with bulk_world(seconds=0.0, retry=RetryPolicy(attempts=1)) as (fake, crm, _):
        ids = seed_contacts(fake, 3_000)
        fake.bulk.cut_downloads, fake.bulk.cut_after = 1, 20_000
        with pytest.raises(TransportError):
            [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=folder)]
        part = folder / "page-1.zip.part"
        part.write_bytes(b"\0" * 20_000)  # the first bytes are not the server's any more

        rows = [row["id"] async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=folder)]

        assert rows == ids
        assert fake.bulk.downloads == 3  # cut, resumed (broken), whole again


async def test_a_new_query_in_the_same_folder_starts_a_new_job(tmp_path: Path) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        seed_contacts(fake, 10)
        first = [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=tmp_path)]
        again = [row async for row in crm.bulk.read.export("Contacts", fields=FIELDS, directory=tmp_path)]
        other = [row async for row in crm.bulk.read.export("Contacts", fields=["Email"], directory=tmp_path)]
        assert first == again and len(other) == 10 and set(other[0]) == {"id", "Email"}
        assert fake.stats.requests["create_bulk_read"] == 2


async def test_poll_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        Poll(initial=5, maximum=1)
