"""Reading backfill files: CSV with a header and JSONL, bad rows refused with their line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from zcrm_async import DealLink, DealUnlink

# private on purpose: the CLI's input reader and its operations, the units under test
from zcrm_async.cli._input import InputError, read_input
from zcrm_async.cli._operations import LINK, OPERATIONS, RELINK, UNLINK

GOOD = {"contact_id": "111", "message_id": "abc123", "deal_id": "222", "owner_id": "333"}


def test_csv_rows_keep_their_line_numbers_and_bad_rows_say_why(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "contact_id,message_id,deal_id,deal_name,owner_id,owner_name\n"
        "111,abc123,222,Big deal,333,Ann\n"
        "\n"
        "x11,abc124,222,,333,\n"
        "111,abc-125,222,,333,\n"
        "111,abc126,,,333,\n"
        "111,abc123,222,,333,\n"
        "112,abc127,222,,333,,extra\n"
    )
    source = read_input(path, LINK)
    assert [row.line for row in source.good] == [2]
    errors = {row.line: row.error for row in source.bad}
    assert set(errors) == {4, 5, 6, 7, 8}
    assert "contact_id must be a numeric Zoho id" in str(errors[4])
    assert "message_id has characters outside" in str(errors[5])
    assert "deal_id is missing" in str(errors[6])
    assert "duplicates line 2" in str(errors[7])
    assert "columns" in str(errors[8])
    assert all(str(error).startswith(f"line {line}") for line, error in errors.items())
    assert source.size == path.stat().st_size and len(source.sha256) == 64


def test_jsonl_rows_accept_numeric_ids_and_refuse_junk(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"contact_id": 111, "message_id": "abc123", "deal_id": 222, "owner_id": 333}\n'
        "not json\n"
        "[1, 2]\n"
        "\n"
        '{"contact_id": true, "message_id": "abc124", "deal_id": 222, "owner_id": 333}\n'
    )
    source = read_input(path, RELINK)
    assert [(row.line, row.fields["contact_id"]) for row in source.good] == [(1, "111")]
    assert [row.line for row in source.bad] == [2, 3, 5]
    assert "not valid JSON" in str(source.bad[0].error)


def test_unlink_needs_only_contact_message_and_owner(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("contact_id,message_id,owner_id\n111,abc123,333\n")
    source = read_input(path, UNLINK)
    assert len(source.good) == 1
    assert isinstance(UNLINK.item(source.good[0].fields), DealUnlink)
    with pytest.raises(InputError, match="lacks deal_id"):
        read_input(path, LINK)


def test_a_link_row_becomes_a_deal_link_with_names() -> None:
    item = LINK.item({**GOOD, "deal_name": "D", "owner_name": ""})
    assert item == DealLink(contact_id="111", message_id="abc123", deal_id="222", owner_id="333", deal_name="D")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_input(tmp_path / "nope.csv", LINK)


@pytest.mark.parametrize(
    ("name", "operation"),
    [("backfill-link.csv", "link"), ("backfill-unlink.csv", "unlink"), ("backfill-relink.jsonl", "relink")],
)
def test_the_example_files_are_valid(name: str, operation: str) -> None:
    source = read_input(Path(__file__).parent.parent.parent / "examples" / name, OPERATIONS[operation])
    assert source.all_rows and not source.bad
