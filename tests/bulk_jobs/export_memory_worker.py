"""Run in a fresh process by test_export_memory.py: export every Contact of a FakeZoho by Bulk Read, print JSON.

``python tests/bulk_jobs/export_memory_worker.py stream|hold URL CLIENT_ID CLIENT_SECRET REFRESH_TOKEN`` (``hold``
keeps every row: the control that shows the measure sees rows held). The client is a real
``ZohoCRM`` over the real aiohttp transport. Printed: ``rows`` read, ``ordered`` (ids ascending, none twice),
``jobs`` it waited for, ``peak_kib`` (this process's peak RSS, ``VmHWM``: its own image, not pytest's) and
``start_kib`` (the same once the client is imported and started, before the export).
"""

from __future__ import annotations

import json
import sys

import anyio

from zcrm_async import RetryPolicy, ZohoCRM
from zcrm_async.bulk_jobs import BulkJobs, Poll


def peak_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


async def main(mode: str, url: str, client_id: str, client_secret: str, refresh_token: str) -> None:
    async with ZohoCRM(
        client_id=client_id, client_secret=client_secret, refresh_token=refresh_token, api_domain=url,
        accounts_url=url, retry=RetryPolicy(attempts=5, initial=0.05, maximum=0.5),
    ) as crm:  # fmt: skip
        await crm.authenticate()
        start = peak_kib()
        bulk = BulkJobs(crm, poll=Poll(initial=0.05, maximum=0.2))
        rows, last, ordered = 0, 0, True
        held = []
        async for row in bulk.read.export("Contacts", fields=["Last_Name", "Email"]):
            rows += 1
            if mode == "hold":
                held.append(row)
            current = int(row["id"])
            ordered = ordered and current > last
            last = current
        print(json.dumps({"rows": rows, "ordered": ordered, "start_kib": start, "peak_kib": peak_kib(),
                          "requests": crm.counters.requests}))  # fmt: skip


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:6])
