"""Bulk plumbing: chunking, reading per-item results out of any response, and placing them by index."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import pytest

from zcrm_async import AuthenticationError, BulkError, BulkResult, ItemResult, Response

# private on purpose: the bulk layer's units (chunks, windows, runner, answer matching)
from zcrm_async._bulk import Chunk
from zcrm_async._streaming import run_all
from zcrm_async._window import Window
from zcrm_async._write_results import results_from_response
from zcrm_async.emails import DealLink, DealUnlink
from zcrm_async.emails._items import link_chunks, unlink_chunks

T = TypeVar("T")


def response(status: int, body: Any, *, attempts: int = 1) -> Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = Response(status, {}, content)
    resp.attempts = attempts
    return resp


def status(message_id: str, code: str = "SUCCESS", state: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "details": {"message_id": message_id},
        "message": f"{code} for {message_id}",
        "status": state or ("success" if code == "SUCCESS" else "error"),
    }


def ident(item: str) -> str:
    return item


# -- requests for a whole list: the window the list forms send by, holding everything -----------------------------


def unlinks(ids: list[str], contact: str = "1", owner: str = "9") -> list[DealUnlink]:
    return [DealUnlink(contact_id=contact, message_id=m, owner_id=owner) for m in ids]


def id_groups(chunks: list[Chunk[DealUnlink]]) -> list[list[str]]:
    return [[item.message_id for item in c.items] for c in chunks]


def test_unlink_requests_respect_the_count() -> None:
    ids = [f"{i:02d}" for i in range(45)]
    groups = id_groups(unlink_chunks(unlinks(ids), 20, 2000))
    assert [len(g) for g in groups] == [20, 20, 5]
    assert [i for g in groups for i in g] == ids


def test_unlink_requests_respect_the_characters_on_whole_ids() -> None:
    ids = [f"{i:096d}" for i in range(60)]  # 96-character ids, as in Zoho's samples
    groups = id_groups(unlink_chunks(unlinks(ids), 20, 2000))
    assert [i for g in groups for i in g] == ids
    assert all(len(",".join(g)) <= 2000 and len(g) <= 20 for g in groups)
    # 20 x 96 + 19 commas = 1939 fits; so every full group has 20
    assert [len(g) for g in groups] == [20, 20, 20]


def test_unlink_requests_split_on_characters_before_count() -> None:
    ids = [f"{i}" + "a" * 499 for i in range(9)]
    groups = id_groups(unlink_chunks(unlinks(ids), 20, 2000))
    # 3 x 500 + 2 = 1502; a fourth gives 2003 > 2000
    assert [len(g) for g in groups] == [3, 3, 3]
    assert all(len(",".join(g)) <= 2000 for g in groups)


def test_unlink_requests_exact_fit() -> None:
    ids = [f"{i}" * 9 for i in range(4)]  # 4 x 9 + 3 = 39
    assert id_groups(unlink_chunks(unlinks(ids), 10, 39)) == [ids]
    assert id_groups(unlink_chunks(unlinks(ids), 10, 38)) == [ids[:3], ids[3:]]


def test_unlink_requests_are_per_contact_and_owner() -> None:
    items = unlinks(["a", "b"], "1", "9") + unlinks(["c"], "1", "8") + unlinks(["d"], "2", "9") + unlinks(["e"])
    assert id_groups(unlink_chunks(items, 20, 2000)) == [["c"], ["d"], ["a", "b", "e"]]


def test_link_requests_group_by_contact_then_chunk_keeping_positions() -> None:
    def link(contact: str, n: int) -> DealLink:
        return DealLink(contact_id=contact, message_id=f"m{n}", deal_id="5", owner_id="9")

    items = [link("1", i) for i in range(45)] + [link("2", i) for i in range(3)] + [link("1", 99)]
    chunks = link_chunks(items, 20)

    assert [len(c.items) for c in chunks] == [20, 20, 3, 6]  # full ones at once; then the least recently touched
    assert all(len({item.contact_id for item in c.items}) == 1 for c in chunks)
    assert sorted(i for c in chunks for i in c.indexes) == list(range(len(items)))
    for c in chunks:
        assert [items[i] for i in c.indexes] == c.items


# -- results_from_response -----------------------------------------------------------------------------------

ITEMS = ["m1", "m2", "m3"]


def test_all_success() -> None:
    results = results_from_response(ITEMS, response(200, {"Emails": [status(m) for m in ITEMS]}, attempts=2))
    assert [(r.item, r.code, r.status, r.attempts) for r in results] == [(m, "SUCCESS", "success", 2) for m in ITEMS]
    assert results[0].details == {"message_id": "m1"}
    assert results[0].message == "SUCCESS for m1"


def test_207_mixed() -> None:
    body = {"data": [status("m1"), status("m2", "INVALID_DATA"), status("m3")]}
    results = results_from_response(ITEMS, response(207, body))
    assert [(r.code, r.ok) for r in results] == [("SUCCESS", True), ("INVALID_DATA", False), ("SUCCESS", True)]


def test_400_flat() -> None:
    body = {"Emails": [status("m1", "ALREADY_LINKED"), status("m2", "INVALID_DATA"), status("m3", "NOT_ALLOWED")]}
    results = results_from_response(ITEMS, response(400, body), key=ident)
    assert [r.code for r in results] == ["ALREADY_LINKED", "INVALID_DATA", "NOT_ALLOWED"]
    assert not any(r.ok for r in results)


def test_400_nested() -> None:
    body = {"Emails": [[status("m1", "ALREADY_LINKED"), status("m2"), status("m3", "INVALID_DATA")]]}
    results = results_from_response(ITEMS, response(400, body), key=ident)
    assert [(r.item, r.code) for r in results] == [("m1", "ALREADY_LINKED"), ("m2", "SUCCESS"), ("m3", "INVALID_DATA")]


def test_status_is_derived_from_the_code_when_missing() -> None:
    body = {"Emails": [{"code": "SUCCESS"}, {"code": "INVALID_DATA"}, {"code": "X", "status": "weird"}]}
    results = results_from_response(ITEMS, response(400, body))
    assert [r.status for r in results] == ["success", "error", "error"]


@pytest.mark.parametrize(
    ("status_code", "code"),
    [(400, "INVALID_MODULE"), (400, "FEATURE_NOT_SUPPORTED"), (403, "NO_PERMISSION"), (404, "INVALID_URL_PATTERN"),
     (429, "TOO_MANY_REQUESTS"), (500, "INTERNAL_ERROR")],
)
def test_top_level_error_fails_every_item_with_its_cause(status_code: int, code: str) -> None:
    body = {"code": code, "details": {"why": "because"}, "message": "no", "status": "error"}
    results = results_from_response(ITEMS, response(status_code, body, attempts=3))
    assert [(r.item, r.code, r.status, r.message, r.attempts) for r in results] == [
        (m, code, "error", "no", 3) for m in ITEMS
    ]
    assert results[0].details == {"why": "because", "http_status": status_code}  # the status decides "transient"


@pytest.mark.parametrize("status_code", [500, 502, 503])
def test_5xx_with_html_fails_every_item(status_code: int) -> None:
    results = results_from_response(ITEMS, response(status_code, b"<html>oops</html>"))
    assert [r.code for r in results] == [f"HTTP_{status_code}"] * 3
    assert not any(r.ok for r in results)


@pytest.mark.parametrize("body", [b"", b"{not json", b"<html></html>", b'{"Emails": "nope"}', b"[]"])
def test_unreadable_body_fails_every_item(body: bytes) -> None:
    results = results_from_response(ITEMS, response(200, body))
    assert len(results) == 3
    assert not any(r.ok for r in results)


def test_204_fails_every_item_as_no_content() -> None:
    results = results_from_response(ITEMS, response(204, b""))
    assert [r.code for r in results] == ["NO_CONTENT"] * 3


@pytest.mark.parametrize("code", ["INVALID_TOKEN", "AUTHENTICATION_FAILURE", "OAUTH_SCOPE_MISMATCH"])
def test_401_raises_for_every_chunk(code: str) -> None:
    with pytest.raises(AuthenticationError):
        results_from_response(ITEMS, response(401, {"code": code, "details": {}, "message": "x", "status": "error"}))


def test_echo_without_codes_is_success() -> None:
    # The single-message link answers 200 with the request echoed (link-deal-to-emails sample).
    echo = {"Emails": [{"linked_record": {"module": {"api_name": "Deals"}, "id": "1"}, "owner": {"id": "2"}}]}
    (result,) = results_from_response(["m1"], response(200, echo))
    assert (result.code, result.ok) == ("SUCCESS", True)


def test_echo_without_codes_under_a_400_is_not_success() -> None:
    echo = {"Emails": [{"owner": {"id": "2"}}]}
    (result,) = results_from_response(["m1"], response(400, echo))
    assert not result.ok


def test_fewer_results_than_items_leaves_no_result() -> None:
    # Without a way to tell which items two results belong to, none is guessed by position: all three are
    # NO_RESULT (the write path reads them back); with the message ids, the two land on their own items.
    unnamed = results_from_response(ITEMS, response(200, {"Emails": [status("m1"), status("m2")]}))
    assert [r.code for r in unnamed] == ["NO_RESULT"] * 3
    named = results_from_response(ITEMS, response(200, {"Emails": [status("m3"), status("m1")]}), key=ident)
    assert [r.code for r in named] == ["SUCCESS", "NO_RESULT", "SUCCESS"]
    assert not named[1].ok


def test_results_naming_their_item_by_json_path_land_on_it() -> None:
    error = {"code": "INVALID_DATA", "status": "error", "message": "bad",
             "details": {"api_name": "owner", "json_path": "$.Emails[2].owner"}}
    results = results_from_response(ITEMS, response(207, {"Emails": [error, status("m1"), status("m2")]}), key=ident)
    assert [r.code for r in results] == ["SUCCESS", "SUCCESS", "INVALID_DATA"]


@pytest.mark.parametrize("path", ["Emails[2].owner.id", "$.Emails[2].owner.id", "message_ids[2]"])
def test_a_json_path_names_its_item_in_either_of_zohos_forms(path: str) -> None:
    # Link Deal to Emails' OpenAPI file writes "Emails[2].owner.id" (no "$."), records and Associate Email "$.".
    failures = [
        {"code": "ALREADY_LINKED", "status": "error", "message": "linked",
         "details": {"api_name": "x", "json_path": path.replace("2", str(i))}}
        for i in (2, 0, 1)
    ]  # fmt: skip
    results = results_from_response(ITEMS, response(400, {"Emails": [[f] for f in failures]}), key=ident)
    assert [r.details["json_path"] for r in results] == [path.replace("2", str(i)) for i in (0, 1, 2)]


def test_null_fields_in_a_result_do_not_fail_the_chunk() -> None:
    body = {"Emails": [{"code": "SUCCESS", "status": "success", "message": None, "details": None}] * 3}
    results = results_from_response(ITEMS, response(200, body))
    assert [(r.code, r.message, dict(r.details)) for r in results] == [("SUCCESS", "", {})] * 3


def test_empty_results_leave_every_item_without_result() -> None:
    results = results_from_response(ITEMS, response(200, {"Emails": []}))
    assert [r.code for r in results] == ["NO_RESULT"] * 3


def test_results_out_of_order_are_matched_by_message_id() -> None:
    body = {"Emails": [status("m3", "INVALID_DATA"), status("m1"), status("m2", "ALREADY_LINKED")]}
    results = results_from_response(ITEMS, response(400, body), key=ident)
    assert [(r.item, r.code, r.details["message_id"]) for r in results] == [
        ("m1", "SUCCESS", "m1"),
        ("m2", "ALREADY_LINKED", "m2"),
        ("m3", "INVALID_DATA", "m3"),
    ]


def test_fewer_results_out_of_order_are_still_matched_by_message_id() -> None:
    body = {"Emails": [status("m3", "INVALID_DATA"), status("m1")]}
    results = results_from_response(ITEMS, response(400, body), key=ident)
    assert [(r.item, r.code) for r in results] == [("m1", "SUCCESS"), ("m2", "NO_RESULT"), ("m3", "INVALID_DATA")]


def test_without_usable_keys_order_is_trusted() -> None:
    body = {"Emails": [{"code": "SUCCESS", "status": "success"}, {"code": "INVALID_DATA", "status": "error"},
                       {"code": "SUCCESS", "status": "success"}]}
    results = results_from_response(ITEMS, response(207, body), key=ident)
    assert [r.code for r in results] == ["SUCCESS", "INVALID_DATA", "SUCCESS"]


# -- the list forms: the stream's workers, results placed by index ------------------------------------------------


async def run_list(
    items: list[T], send: Callable[[list[T]], Awaitable[list[ItemResult[T]]]], key: Callable[[T], Any], size: int,
    *, concurrency: int, on_progress: Callable[[list[ItemResult[T]]], None] | None = None,
) -> BulkResult[T]:
    """What a list form does: the whole input in one window, every result placed at its index."""
    return await run_all(items, send, Window(key, size, None), concurrency=concurrency, on_progress=on_progress)


@pytest.mark.anyio
async def test_run_all_places_every_result_at_its_index() -> None:
    items = [f"i{n}" for n in range(53)]
    sent: list[list[str]] = []

    async def send(part: list[str]) -> list[ItemResult[str]]:
        sent.append(part)
        for _ in range(len(part) % 3):
            await anyio.lowlevel.checkpoint()  # finish out of order
        return [ItemResult(item, "SUCCESS" if int(item[1:]) % 7 else "INVALID_DATA",
                           "success" if int(item[1:]) % 7 else "error") for item in part]

    done: list[int] = []
    result = await run_list(items, send, lambda item: int(item[1:]) % 4, 5, concurrency=4,
                           on_progress=lambda r: done.append(len(r)))

    assert [r.item for r in result] == items
    assert sorted(i for part in sent for i in part) == sorted(items)  # each item sent exactly once
    assert len(sent) == 4 * 3 and sum(done) == len(items)  # each key holds 13 or 14: three requests of 5 at most
    assert [r.item for r in result.failed] == [i for i in items if int(i[1:]) % 7 == 0]


@pytest.mark.anyio
async def test_run_all_aggregates_a_thousand_chunks_of_twenty() -> None:
    total = 20_000
    sent = 0

    async def send(part: list[int]) -> list[ItemResult[int]]:
        nonlocal sent
        sent += 1
        await anyio.lowlevel.checkpoint()
        return [ItemResult(n, "SUCCESS", "success") if n % 1000 else ItemResult(n, "ALREADY_LINKED", "error")
                for n in part]

    result = await run_list(list(range(total)), send, lambda n: None, 20, concurrency=16)

    assert len(result) == total and sent == 1000
    assert [r.item for r in result] == list(range(total))
    assert result.counts == {"SUCCESS": total - 20, "ALREADY_LINKED": 20}


@pytest.mark.anyio
async def test_run_all_refuses_a_sender_that_loses_results() -> None:
    async def send(part: list[int]) -> list[ItemResult[int]]:
        return [ItemResult(n, "SUCCESS", "success") for n in part[:-1]]

    with pytest.raises(RuntimeError, match="wrong number"):
        await run_list([1, 2, 3], send, lambda n: None, 3, concurrency=2)


@pytest.mark.anyio
async def test_run_all_raises_a_sender_exception_as_itself() -> None:
    calls = 0

    async def send(part: list[int]) -> list[ItemResult[int]]:
        nonlocal calls
        calls += 1
        await anyio.lowlevel.checkpoint()
        raise AuthenticationError("refused", status=401, code="INVALID_TOKEN")

    with pytest.raises(AuthenticationError, match="refused"):
        await run_list(list(range(100)), send, lambda n: n, 1, concurrency=3)
    assert calls < 100  # the rest were cancelled


# -- BulkResult ----------------------------------------------------------------------------------------------


def make_result() -> BulkResult[str]:
    return BulkResult(
        [
            ItemResult("a", "SUCCESS", "success"),
            ItemResult("b", "ALREADY_LINKED", "error", "already"),
            ItemResult("c", "SUCCESS", "success"),
            ItemResult("d", "TRANSPORT_ERROR", "error", "down"),
        ]
    )


def test_bulk_result_counts_and_partitions() -> None:
    result = make_result()
    assert len(result) == 4
    assert result[1].item == "b"
    assert result.counts == {"SUCCESS": 2, "ALREADY_LINKED": 1, "TRANSPORT_ERROR": 1}
    assert [r.item for r in result.succeeded] == ["a", "c"]
    assert [r.item for r in result.failed] == ["b", "d"]
    assert not result.ok
    assert repr(result) == "<BulkResult 4 items: ALREADY_LINKED=1, SUCCESS=2, TRANSPORT_ERROR=1>"


def test_raise_for_failures_lists_the_failed() -> None:
    result = make_result()
    with pytest.raises(BulkError) as info:
        result.raise_for_failures()
    assert [r.item for r in info.value.failed] == ["b", "d"]
    assert str(info.value) == "2 of 4 items failed (ALREADY_LINKED: 1, TRANSPORT_ERROR: 1)"


def test_raise_for_failures_returns_self_when_all_ok() -> None:
    result = BulkResult([ItemResult("a", "SUCCESS", "success")])
    assert result.ok
    assert result.raise_for_failures() is result
    assert BulkResult([]).ok


def test_item_result_says_whether_a_failure_is_worth_retrying() -> None:
    # private on purpose: Zoho's answer matched to the items, a unit
    from zcrm_async._write_results import results_from_response
    from zcrm_async.outcomes import INVALID_DATA, TRANSPORT_ERROR
    from zcrm_async.plumbing import Response

    refused = b'{"data": [{"code": "INVALID_DATA", "status": "error", "message": "bad", "details": {}}]}'
    (final,) = results_from_response(["a"], Response(400, {}, refused))
    (overloaded,) = results_from_response(["a"], Response(503, {}, b"<html>busy</html>"))
    accepted = refused.replace(b"INVALID_DATA", b"SUCCESS").replace(b"error", b"success")
    (written,) = results_from_response(["a"], Response(200, {}, accepted))
    assert final.code == INVALID_DATA and not final.transient
    assert not overloaded.ok and overloaded.transient  # the status decides, whatever the body's code
    assert written.ok and not written.transient
    assert ItemResult("a", TRANSPORT_ERROR, "error").transient
