"""How a write's answer finds its items: by json_path, then by id, then by position only when the counts agree."""

from __future__ import annotations

# private on purpose: how a records write's answer is read, unit by unit
from zcrm_async._record_answers import RecordEntry, WriteBody, encode_write_body, match


def ok(record_id: str) -> RecordEntry:
    return RecordEntry(code="SUCCESS", status="success", details={"id": record_id})


def refused(i: int, field: str = "Last_Name") -> RecordEntry:
    return RecordEntry(code="MANDATORY_NOT_FOUND", status="error",
                       details={"api_name": field, "json_path": f"$.data[{i}].{field}"})  # fmt: skip


def test_errors_go_where_their_json_path_points_even_when_zoho_answers_out_of_order() -> None:
    items = ["a", "b", "c"]
    entries = [refused(2), ok("11"), refused(0)]
    assert match(items, entries, None) == [entries[2], entries[1], entries[0]]


def test_ids_name_their_items_for_update_and_delete() -> None:
    items = [{"id": "1"}, {"id": "2"}, {"id": "3"}]
    entries = [ok("3"), ok("1"), ok("2")]
    assert match(items, entries, lambda row: row["id"]) == [entries[1], entries[2], entries[0]]


def test_unnamed_successes_take_the_items_left_in_order_only_when_the_counts_agree() -> None:
    items = ["a", "b", "c"]
    assert match(items, [ok("10"), refused(1), ok("12")], None) == [ok("10"), refused(1), ok("12")]
    short = match(items, [ok("10"), refused(1)], None)
    assert short == [None, refused(1), None]  # never another item's result


def test_a_json_path_past_the_request_is_not_trusted() -> None:
    assert match(["a"], [refused(5)], None) == [refused(5)]  # one entry, one item: by count
    assert match(["a", "b"], [refused(5)], None) == [None, None]


def test_the_body_leaves_out_what_was_not_given() -> None:
    assert encode_write_body(WriteBody(data=[{"Last_Name": "x"}])) == b'{"data":[{"Last_Name":"x"}]}'
    body = WriteBody(data=[{"Email": "a@b.io"}], trigger=[], duplicate_check_fields=["Email"])
    assert encode_write_body(body) == b'{"data":[{"Email":"a@b.io"}],"trigger":[],"duplicate_check_fields":["Email"]}'
