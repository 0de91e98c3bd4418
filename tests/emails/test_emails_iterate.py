"""Reading emails: iterate follows Get Emails' cursors and fails clearly on bad ones; iterate_many reads many
records' emails in bounded memory."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from tests.emails.mailbox import CONTACT_A, OWNER, TOKEN_URL, collect, page, pager
from zcrm_async import InvalidRequestError, PaginationError, Request, Response, RetryPolicy, ZohoCRM
from zcrm_async.testing import MockTransport, json_response

pytestmark = pytest.mark.anyio


# -- iterate -------------------------------------------------------------------------------------------------


async def test_iterate_follows_next_index_until_more_records_is_false() -> None:
    crm, asked = pager({
        None: page(["a", "b"], "idx1", True),
        "idx1": page(["c"], "idx2", True),
        "idx2": page(["d"], "idx3", False),
    })
    assert await collect(crm) == ["a", "b", "c", "d"]
    assert asked == [None, "idx1", "idx2"]


async def test_iterate_stops_on_204() -> None:
    crm, asked = pager({None: page(["a"], "idx1", True), "idx1": Response(204, {}, b"")})
    assert await collect(crm) == ["a"]
    assert asked == [None, "idx1"]


async def test_iterate_fails_clearly_on_a_repeated_cursor() -> None:
    crm, asked = pager({
        None: page(["a"], "idx1", True),
        "idx1": page(["b"], "idx2", True),
        "idx2": page(["c"], "idx1", True),  # a cursor seen before: following it would loop forever
    })
    with pytest.raises(PaginationError, match="cursor it gave before"):
        await collect(crm)
    assert asked == [None, "idx1", "idx2"]


async def test_iterate_fails_clearly_on_a_cursor_that_points_at_itself() -> None:
    crm, asked = pager({None: page(["a"], "idx1", True), "idx1": page(["b"], "idx1", True)})
    with pytest.raises(PaginationError):
        await collect(crm)
    assert asked == [None, "idx1"]


async def test_iterate_fails_clearly_when_fresh_cursors_never_end() -> None:
    asked: list[str | None] = []

    def endless(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        index = (request.params or {}).get("index")
        asked.append(index)
        return page([f"m{len(asked)}"], f"idx{len(asked)}", True)

    crm = ZohoCRM(client_id="1", client_secret="2", refresh_token="3", transport=MockTransport(endless),
                  retry=RetryPolicy.no_wait())  # fmt: skip
    got: list[str] = []
    with pytest.raises(PaginationError, match="more pages after 50"):
        async for email in crm.emails.iterate("Contacts", CONTACT_A, max_pages=50):
            got.append(email.message_id)
    assert len(got) == 50 and len(asked) == 50


async def test_page_passes_type_and_owner() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        seen.append(request)
        return page([], None, False)

    crm = ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r", transport=MockTransport(handler))
    await crm.emails.page("Contacts", CONTACT_A, type="user_emails", owner_id=OWNER, index="abc")
    assert seen[0].params == {"type": "user_emails", "owner_id": OWNER, "index": "abc"}
    with pytest.raises(ValueError, match="owner_id is only allowed"):
        await crm.emails.page("Contacts", CONTACT_A, owner_id=OWNER)
    with pytest.raises(ValueError, match="type must be one of"):
        await crm.emails.page("Contacts", CONTACT_A, type="spam")
    assert len(seen) == 1


# -- iterate_many --------------------------------------------------------------------------------------------


FAILING = {"1", "11", "12", "14", "15"}  # records whose mailbox is syncing (CANNOT_PROCESS)


def failing_pages() -> ZohoCRM:
    async def handler(request: Request) -> Response:
        if request.url == TOKEN_URL:
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        await anyio.lowlevel.checkpoint()
        record_id = request.url.split("/")[-2]
        if record_id not in FAILING:
            return page([f"m{record_id}"], None, False)
        return json_response(400, {"code": "CANNOT_PROCESS", "details": {}, "message": "mailbox syncing",
                                   "status": "error"})

    return ZohoCRM(client_id="1000.id", client_secret="s", refresh_token="1000.r",
                   transport=MockTransport(handler), retry=RetryPolicy.no_wait())


async def test_iterate_many_yields_every_records_emails() -> None:
    crm, _ = pager({None: page(["a", "b"], "i1", True), "i1": page(["c"], None, False)})
    got: dict[str, list[str]] = {}
    async with crm.emails.iterate_many("Contacts", ["21", "22", "23"], concurrency=2) as stream:
        async for record_id, email in stream:
            got.setdefault(record_id, []).append(email.message_id)
    assert got == {"21": ["a", "b", "c"], "22": ["a", "b", "c"], "23": ["a", "b", "c"]}


async def test_iterate_many_holds_at_most_buffer_emails_in_whole_pages_for_a_slow_reader() -> None:
    ten = [f"m{i}" for i in range(10)]
    crm, asked = pager({None: page(ten, "i1", True), "i1": page(ten, None, False)})
    records = [str(21 + i) for i in range(20)]  # 40 pages, if nothing held the workers back
    async with crm.emails.iterate_many("Contacts", records, concurrency=2, buffer=25) as stream:
        first = await anext(stream)
        for _ in range(20):  # the reader stalls: let the workers fill what they may
            await anyio.lowlevel.checkpoint()
        # 3 pages of 10 cover 25 emails in the buffer; 1 page being read; each of 2 workers holding 1 page
        assert len(asked) <= 3 + 1 + 2
        rest = [pair async for pair in stream]
    assert first == ("21", first[1]) and first[1].message_id == "m0"
    assert len(rest) == 20 * 20 - 1 and len(asked) == 40


async def test_iterate_many_raises_one_failure_as_itself() -> None:
    crm = failing_pages()
    with pytest.raises(InvalidRequestError, match="mailbox syncing"):
        async with crm.emails.iterate_many("Contacts", ["13", "1", "23"], concurrency=1) as stream:
            async for _ in stream:
                pass


async def test_iterate_many_with_several_failures_at_once() -> None:
    crm = failing_pages()
    with pytest.raises(InvalidRequestError) as info:
        async with crm.emails.iterate_many("Contacts", ["11", "12", "14", "15"], concurrency=4) as stream:
            async for _ in stream:
                pass
    assert all("also failed at the same time: InvalidRequestError" in note for note in info.value.__notes__ or [])
