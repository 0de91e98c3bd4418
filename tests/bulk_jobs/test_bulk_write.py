"""Bulk Write end to end: the real aiohttp transport against FakeZoho on 127.0.0.1 (upload with its headers, the
job over time, the result file read into one outcome per input row, in order)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bulk_jobs.helpers import bulk_world, seed_contacts, zip_bytes
from zcrm_async import BulkFileError, InvalidRequestError, ResponseDecodeError, RetryPolicy, TransportError

# private on purpose: Target and the upload host rule, units no public name exposes
from zcrm_async._client import Target
from zcrm_async.bulk_jobs._write import _upload_origin

pytestmark = pytest.mark.anyio

COLUMNS = ["Last_Name", "Email"]


def people(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"Last_Name": f"New {i}", "Email": f"new{i}@example.net"} for i in range(start, start + count)]


async def test_an_insert_gives_one_success_per_row_in_order_with_the_new_records_ids() -> None:
    async with bulk_world(seconds=20.0) as (fake, crm, _):
        rows = people(40)
        result = await crm.bulk.write.run("Contacts", rows, columns=COLUMNS)

        assert result.ok and [r.item for r in result] == rows
        created = {r.details["id"]: r.item for r in result}
        for record_id, row in created.items():
            record = fake.world.record(record_id, "Contacts")
            assert record is not None and (record.name, record.email) == (row["Last_Name"], row["Email"])
        assert {r.details["action"] for r in result} == {"insert"}
        assert fake.stats.requests["upload_file"] == 1 and fake.stats.requests["create_bulk_write"] == 1


async def test_the_budget_counts_500_credits_a_job_as_zoho_does() -> None:
    async with bulk_world(seconds=20.0) as (fake, crm, _):
        await crm.bulk.write.run("Contacts", people(5), columns=COLUMNS)
        reads = fake.bulk.status_reads
        # Get Organization Details, the upload, the job (500), its status reads, the result's download.
        assert crm.counters.credits_spent == 1 + 1 + 500 + reads + 1 == fake.credits_used


async def test_mixed_outcomes_land_on_their_rows() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        existing = seed_contacts(fake, 3)  # p0, p1, p2 @example.net
        rows = [
            {"Last_Name": "Fresh", "Email": "fresh@example.net"},
            {"Last_Name": "Again", "Email": "p1@example.net"},  # exists: skipped on insert by Email
            {"Last_Name": "", "Email": "nameless@example.net"},  # no Last_Name
            {"Last_Name": "Other", "Email": "other@example.net"},
        ]
        result = await crm.bulk.write.run("Contacts", rows, columns=COLUMNS, find_by="Email")

        assert [r.code for r in result] == ["SUCCESS", "DUPLICATE_DATA", "MANDATORY_NOT_FOUND", "SUCCESS"]
        assert result[1].details["id"] == existing[1]
        assert result[2].details["errors"] == [{"code": "MANDATORY_NOT_FOUND", "api_name": "Last_Name"}]
        assert len(fake.world.records_of("Contacts")) == 5


async def test_upsert_updates_the_found_and_inserts_the_rest() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        existing = seed_contacts(fake, 2)
        rows = [{"Last_Name": "Renamed", "Email": "p0@example.net"}, {"Last_Name": "Born", "Email": "b@example.net"}]
        result = await crm.bulk.write.run("Contacts", rows, columns=COLUMNS, operation="upsert", find_by="Email")

        assert [(r.code, r.details["action"]) for r in result] == [("SUCCESS", "update"), ("SUCCESS", "insert")]
        assert result[0].details["id"] == existing[0]
        record = fake.world.record(existing[0])
        assert record is not None and record.name == "Renamed"


async def test_an_update_by_id_that_finds_nothing_is_that_rows_failure() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        ids = seed_contacts(fake, 1)
        rows = [{"id": ids[0], "Last_Name": "Changed"}, {"id": "5843104000099999999", "Last_Name": "Ghost"}]
        result = await crm.bulk.write.run("Contacts", rows, columns=["id", "Last_Name"], operation="update",
                                          find_by="id")  # fmt: skip
        assert [r.code for r in result] == ["SUCCESS", "RESOURCE_NOT_FOUND"]


async def test_more_than_25000_rows_are_several_jobs_and_every_row_gets_its_outcome() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        rows = people(25_003)
        result = await crm.bulk.write.run("Contacts", iter(rows), columns=COLUMNS)
        assert len(result) == 25_003 and result.ok
        assert fake.stats.requests["create_bulk_write"] == 2
        assert result[25_002].item is rows[25_002]


async def test_a_job_that_fails_marks_each_of_its_rows() -> None:
    async with bulk_world(seconds=3.0) as (fake, crm, _):
        fake.bulk.fail_next.append("could not process")
        result = await crm.bulk.write.run("Contacts", people(3), columns=COLUMNS)
        assert result.counts == {"BULK_JOB_FAILED": 3} and "FAILED" in result[0].message
        assert fake.world.records_of("Contacts") == []


async def test_lost_answers_on_reads_and_uploads_are_retried_and_each_row_is_written_once() -> None:
    async with bulk_world(seconds=6.0, seed=3) as (fake, crm, _):
        fake.set_faults(error_rate=0.25, drop_rate=0.25)
        rows = people(30)
        result = await crm.bulk.write.run("Contacts", rows, columns=COLUMNS)
        assert result.ok and len(fake.world.records_of("Contacts")) == 30
        assert fake.stats.errors_500 + fake.stats.dropped > 0


async def test_a_lost_answer_to_the_jobs_creation_is_not_resent() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        await crm.bulk.write.org_id()
        source = people(2)
        file_id = await _uploaded(crm, source)
        fake.set_faults(lost_response_rate=1.0)
        with pytest.raises(TransportError, match="may exist and is not created again"):
            await crm.bulk.write.create("Contacts", file_id)
        assert fake.stats.requests["create_bulk_write"] == 1 and len(fake.bulk.jobs) == 1


async def _uploaded(crm: Any, rows: list[dict[str, Any]]) -> str:
    import tempfile
    from pathlib import Path

    # private on purpose: the CSV ZIP writer, to upload a file without creating a job
    from zcrm_async.bulk_jobs._zip import write_csv_zip

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.zip"
        write_csv_zip(rows, COLUMNS, path)
        return str(await crm.bulk.write.upload(path))


async def test_a_result_whose_rows_are_not_the_inputs_is_refused() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        fake.bulk.next_file = zip_bytes({"9.csv": "Last_Name,Email,RECORD_ID,STATUS,ERRORS\nOther,x@y,1,added,\n"})
        with pytest.raises(ResponseDecodeError, match="not the input's, in order"):
            await crm.bulk.write.run("Contacts", people(1), columns=COLUMNS)
        fake.bulk.next_file = zip_bytes({"9.csv": "Last_Name,Email,RECORD_ID,STATUS,ERRORS\n"})
        with pytest.raises(ResponseDecodeError, match="0 rows for 1 sent"):
            await crm.bulk.write.run("Contacts", people(1), columns=COLUMNS)


async def test_a_broken_or_hostile_result_file_is_a_clear_error() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        fake.bulk.next_file = b"garbage"
        with pytest.raises(BulkFileError, match="not a readable ZIP"):
            await crm.bulk.write.run("Contacts", people(1), columns=COLUMNS)
        fake.bulk.next_file = zip_bytes({"/etc/cron.d/x.csv": "a\n"})
        with pytest.raises(BulkFileError, match="not a plain CSV file name"):
            await crm.bulk.write.run("Contacts", people(1), columns=COLUMNS)


async def test_a_result_url_off_the_api_domain_is_refused() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        fake.bulk.download_origin = "https://download.evil.example"
        with pytest.raises(ValueError, match="neither the API domain nor one of Zoho's API hosts"):
            await crm.bulk.write.run("Contacts", people(1), columns=COLUMNS)
        assert fake.bulk.downloads == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"module": ""}, "module must be"),
        ({"columns": []}, "columns must be a non-empty list"),
        ({"columns": "Last_Name"}, "columns must be a non-empty list"),
        ({"columns": ["Email", "Email"]}, "distinct"),
        ({"columns": [f"F{i}" for i in range(201)]}, "at most 200 columns"),
        ({"operation": "delete"}, "insert, update or upsert"),
        ({"operation": "update"}, "needs find_by"),
        ({"callback_url": "http://example.com/x"}, "callback_url must be https"),
        ({"rows": [{"Last_Name": "a"}, "not a row"]}, "row 1 is not a mapping"),
    ],
)
async def test_bad_input_is_a_clear_error_before_any_request(arguments: dict[str, Any], message: str) -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        call: dict[str, Any] = {"module": "Contacts", "rows": people(2), "columns": COLUMNS, **arguments}
        with pytest.raises(ValueError, match=message):
            await crm.bulk.write.run(call.pop("module"), call.pop("rows"), **call)
        assert sum(fake.stats.requests.values()) == 0


async def test_the_upload_needs_zohos_headers_and_the_orgs_id() -> None:
    async with bulk_world(seconds=0.0, retry=RetryPolicy(attempts=1)) as (fake, crm, _):
        zgid = await crm.bulk.write.org_id()
        body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\n\r\n' + zip_bytes(
            {"a.csv": "Last_Name\nx\n"}) + b"\r\n--b--\r\n"  # fmt: skip
        multipart = {"Content-Type": "multipart/form-data; boundary=b"}
        cases = [
            ({**multipart, "X-CRM-ORG": zgid}, 400, b"check if headers"),  # no feature
            ({**multipart, "feature": "bulk-write", "X-CRM-ORG": "1"}, 400, b"check if headers"),  # another org
            ({**multipart, "feature": "bulk-write", "X-CRM-ORG": zgid}, 200, b"FILE_UPLOAD_SUCCESS"),
        ]
        for headers, status, said in cases:
            response = await crm.request("POST", "/upload", operation="x", content=body, headers=headers)
            assert response.status == status and said in response.content
        not_zip = body.replace(b"PK\x03\x04", b"XXXX")
        headers = {**multipart, "feature": "bulk-write", "X-CRM-ORG": zgid}
        response = await crm.request("POST", "/upload", operation="x", content=not_zip, headers=headers)
        assert response.status == 400 and b"INVALID_FILE_FORMAT" in response.content
        assert len(fake.bulk.files) == 1


async def test_the_fake_refuses_job_bodies_as_zoho_does() -> None:
    async with bulk_world(seconds=0.0) as (_fake, crm, _):
        file_id = await _uploaded(crm, people(1))
        # private on purpose: the Bulk API's target, to send bodies the client itself never would
        from zcrm_async.bulk_jobs._calls import bulk_target, raise_for_bulk

        def job(**changes: Any) -> dict[str, Any]:
            resource = {"type": "data", "module": {"api_name": "Contacts"}, "file_id": file_id}
            return {"operation": "insert", "resource": [{**resource, **changes}]}

        cases = [
            ({"resource": []}, "MANDATORY_NOT_FOUND"),
            ({"operation": "insert"}, "MANDATORY_NOT_FOUND"),
            (job(module={"api_name": "Nope"}), "MODULE_NOT_AVAILABLE"),
            (job(file_id="123"), "INVALID_FILE_ID"),
            ({**job(), "operation": "update"}, "MANDATORY_NOT_FOUND"),
            ({**job(), "callback": {"url": "http://127.0.0.1:1/", "method": "get"}}, "INVALID_CALLBACK_METHOD"),
        ]
        import msgspec

        for body, code in cases:
            response = await crm.request("POST", "/write", operation="x", content=msgspec.json.encode(body),
                                         target=bulk_target(crm))  # fmt: skip
            with pytest.raises(InvalidRequestError) as caught:
                raise_for_bulk(response)
            assert caught.value.code == code, body


def test_uploads_go_to_zohos_content_server_of_the_data_centre_or_to_a_pinned_local_domain() -> None:
    assert _upload_origin("https://www.zohoapis.eu") == "https://content.zohoapis.eu"
    assert _upload_origin("https://www.zohoapis.com.au") == "https://content.zohoapis.com.au"
    assert _upload_origin("http://127.0.0.1:8000") is None


async def test_a_request_to_a_host_off_zohos_is_refused_before_a_token_is_taken() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        with pytest.raises(ValueError, match="not one of Zoho's API hosts"):
            await crm.request("GET", "/x", operation="x", target=Target(origin="https://evil.example"))
        assert fake.stats.requests["token"] == 0


async def test_rows_follow_the_record_writes_rules_unique_fields_custom_fields_and_deals_stage() -> None:
    async with bulk_world(seconds=0.0) as (fake, crm, _):
        columns = ["Last_Name", "External_Contact_ID", "Favourite_Colour"]
        rows = [
            {"Last_Name": "One", "External_Contact_ID": "x1", "Favourite_Colour": "teal"},
            {"Last_Name": "Two", "External_Contact_ID": "x1", "Favourite_Colour": "red"},  # x1 is taken now
        ]
        result = await crm.bulk.write.run("Contacts", rows, columns=columns)
        assert [r.code for r in result] == ["SUCCESS", "DUPLICATE_DATA"]
        record = fake.world.record(result[0].details["id"])
        assert record is not None and record.fields["Favourite_Colour"] == "teal"
        # The record is found by the next write's duplicate check: the index knows it.
        again = await crm.bulk.write.run("Contacts", [{"Last_Name": "Uno", "External_Contact_ID": "x1"}],
                                         columns=["Last_Name", "External_Contact_ID"], operation="upsert",
                                         find_by="External_Contact_ID")  # fmt: skip
        assert again[0].details == {"id": record.id, "action": "update"} and record.name == "Uno"
        with pytest.raises(InvalidRequestError, match="mandatory fields are not mapped"):
            await crm.bulk.write.run("Deals", [{"Deal_Name": "D"}], columns=["Deal_Name"])
