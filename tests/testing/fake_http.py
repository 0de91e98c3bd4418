"""Plain HTTP to FakeZoho on 127.0.0.1 for the endpoint tests: an authorised caller, a world of a user, a
contact and a deal, and the documented samples' link items and message ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from zcrm_async.testing import DEALS_MODULE_ID, FakeConfig, FakeZoho

# The message ids of Zoho's "Link Deal to Emails" samples.
DOC_MID_1 = "8937fb892cc6f15b95bc22ecb91b6f85e9f60916ef9314d484543df546f09ad1"
DOC_MID_2 = "6622e532084a2c329b44f4d7c58a93bb2f616d21e1e73cc1e9cc71d24ef6b5f5"

LIST_ITEM_KEYS = [
    "cc",
    "has_thread_attachment",
    "summary",
    "owner",
    "read",
    "subject",
    "message_id",
    "has_attachment",
    "source",
    "sent",
    "intent",
    "sentiment_info",
    "activity_info",
    "linked_record",
    "related_to_record",
    "emotion",
    "from",
    "to",
    "time",
    "status",
]


class Api:
    """A tiny authorised HTTP helper: returns (status, parsed JSON or None, raw body)."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeZoho, token: str) -> None:
        self.http, self.fake = http, fake
        self.headers = {"Authorization": f"Zoho-oauthtoken {token}"}

    async def call(
        self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None, **kw: Any
    ) -> tuple[int, Any, bytes]:
        headers = {**self.headers, **kw.pop("headers", {})}
        async with self.http.request(
            method, self.fake.url + path, json=json_body, data=data, headers=headers, **kw
        ) as resp:
            raw = await resp.read()
            return resp.status, (json.loads(raw) if raw else None), raw


def run(test: Callable[[FakeZoho, Api], Awaitable[None]], config: FakeConfig | None = None) -> None:
    async def main() -> None:
        async with FakeZoho(config) as fake, aiohttp.ClientSession() as http:
            await test(fake, Api(http, fake, fake.issue_token()))

    asyncio.run(main())


def link_item(owner: str, deal: str, message_id: str | None = None, **over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "owner": {"name": "Patricia Boyle", "id": owner},
        "message_id": message_id,
        "linked_record": {
            "module": {"api_name": "Deals", "id": DEALS_MODULE_ID},
            "name": "Travel",
            "id": deal,
        },
    }
    if message_id is None:
        del item["message_id"]
    item.update(over)
    return item


def world(fake: FakeZoho) -> tuple[str, str, str]:
    """A user, a contact and a deal associated with it."""
    user = fake.add_user("Patricia Boyle")
    contact = fake.add_contact("Christopher Maclead", "christopher-maclead@noemail.com")
    deal = fake.add_deal("Travel Insurance", [contact])
    return user, contact, deal
