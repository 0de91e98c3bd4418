"""Run in a fresh process by tests/test_bulk_stream_memory.py: link N items from a generator, print RSS as JSON.

``python tests/core/stream_memory_worker.py stream|list N``. The client is a real ``ZohoCRM`` over ``MockTransport``
(no latency, no network): every request goes through the whole send pipeline, the answer is a canned 200 with
one SUCCESS per email. The mock keeps no requests (``keep_requests=False``), so what grows is the client's alone.

Printed: ``before_kib`` (peak RSS, ``VmHWM``, after a warm-up of 2,000 items through the same call path),
``after_kib`` (peak RSS at the end), ``items`` and ``requests`` seen, ``cpu_s`` (process CPU time measured).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import anyio

from zcrm_async import Budget, Request, Response, RetryPolicy, ZohoCRM
from zcrm_async.emails import DealLink
from zcrm_async.testing import MockTransport, json_response

OWNER = "5843104000000424672"
DEALS_MODULE = "5843104000000002181"
WARM_UP = 2_000


def emails(start: int, count: int) -> Iterator[DealLink]:
    """Links sorted by contact, 1 to 45 emails each (deterministic), ids made on the fly: nothing held."""
    made = 0
    contact = start
    while made < count:
        each = min(1 + (contact * 7919) % 45, count - made)
        for m in range(each):
            yield DealLink(
                contact_id=str(5843104000000000000 + contact),
                message_id=f"{contact:012x}{m:04x}{'ab' * 24}",
                deal_id=str(5843104000004000000 + contact),
                owner_id=OWNER,
                deal_name=f"Deal {contact}",
            )
        made += each
        contact += 1


def peak_kib() -> int:
    """This process's peak RSS (``VmHWM``), in KiB. Not ``ru_maxrss``: Linux carries that over from the parent a
    process was forked from (through exec), so under pytest it starts at pytest's own size and hides growth."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


class Zoho:
    """Answers the token request and every link request: one SUCCESS per email, bodies made once per size."""

    def __init__(self) -> None:
        self.requests = 0
        self.items = 0
        self._bodies: dict[int, Response] = {}

    def __call__(self, request: Request) -> Response:
        if request.url.endswith("/oauth/v2/token"):
            return json_response(200, {"access_token": "1000.tok", "expires_in": 3600})
        count = request.content.count(b'"message_id"') if request.content else 0
        self.requests += 1
        self.items += count
        if count not in self._bodies:
            entry = {"code": "SUCCESS", "status": "success", "message": "linked", "details": {}}
            self._bodies[count] = json_response(200, {"Emails": [entry] * count})
        return self._bodies[count]


async def run(mode: str, total: int) -> dict[str, float]:
    zoho = Zoho()
    crm = ZohoCRM(
        client_id="1000.X", client_secret="s", refresh_token="1000.r",
        transport=MockTransport(zoho, keep_requests=False),
        budget=Budget(concurrency=20, daily_credits=10_000_000),
        retry=RetryPolicy(attempts=1),
    )  # fmt: skip
    async with crm:
        await link(crm, mode, emails(0, WARM_UP))
        before = peak_kib()
        cpu = time.process_time()
        seen = await link(crm, mode, emails(10_000_000, total))
        cpu = time.process_time() - cpu
    return {"before_kib": before, "after_kib": peak_kib(), "items": seen, "requests": zoho.requests, "cpu_s": cpu}


async def link(crm: ZohoCRM, mode: str, items: Iterator[DealLink]) -> int:
    if mode == "list":
        result = await crm.emails.link_deal(items, deals_module_id=DEALS_MODULE)
        return sum(1 for r in result if r.ok)
    linked = 0
    async with crm.emails.link_deal_stream(items, deals_module_id=DEALS_MODULE) as results:
        async for _, result in results:
            linked += result.ok
    return linked


if __name__ == "__main__":
    print(json.dumps(anyio.run(run, sys.argv[1], int(sys.argv[2]))))
