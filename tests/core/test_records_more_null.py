"""Get Records answered with ``info.more_records: null`` (Zoho's OpenAPI file says boolean): the read is not
failed for it, a full page is taken to mean there may be more, and a short page ends the read (issue 21, LOW).
Real transport against a scripted server on 127.0.0.1."""

from __future__ import annotations

import pytest
from aiohttp import web

from tests.core.test_hostile_server import client
from tests.hostile import HostileServer, token_answer

pytestmark = pytest.mark.anyio


async def test_a_null_more_records_reads_on_while_pages_are_full_and_stops_at_a_short_one() -> None:
    sizes = {1: 200, 2: 200, 3: 37}  # 437 deals; pages past 3 would be empty
    asked: list[int] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/oauth/v2/token":
            return token_answer()
        page = int(request.query.get("page", "1"))
        asked.append(page)
        first = sum(size for number, size in sizes.items() if number < page)
        data = [{"id": str(5_000_000 + first + n)} for n in range(sizes.get(page, 0))]
        return web.json_response({"data": data, "info": {"per_page": 200, "page": page, "more_records": None}})

    async with HostileServer().running() as server:
        server.handler = handle
        async with client(server) as crm:
            ids = [record["id"] async for record in crm.records.iterate("Deals", fields=["Deal_Name"])]
    assert ids == [str(5_000_000 + n) for n in range(437)]
    assert sorted(set(asked)) == list(range(1, 11))  # page 1, then pages 2-10 side by side, as with true


async def test_a_short_first_page_with_null_more_records_is_the_only_page() -> None:
    asked: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/oauth/v2/token":
            return token_answer()
        asked.append(request.query.get("page", ""))
        return web.json_response({"data": [{"id": "5843104000000000001"}], "info": {"more_records": None}})

    async with HostileServer().running() as server:
        server.handler = handle
        async with client(server) as crm:
            ids = [record["id"] async for record in crm.records.iterate("Deals", fields=["Deal_Name"])]
    assert ids == ["5843104000000000001"] and asked == ["1"]
