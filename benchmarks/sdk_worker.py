"""The official SDK's side of figure 5; runs with ``benchmarks/.sdk-venv``'s python, never the project's.

``python benchmarks/sdk_worker.py SPEC_JSON`` reads every email of the given contacts through Zoho's SDK
``zohocrmsdk8_0`` 7.0.0 (sync, requests-based), in a ``ThreadPoolExecutor`` of ``threads`` workers, one contact per
task following ``info.next_index``, and prints one JSON line: counts, wall and CPU time.

Standalone on purpose: it imports nothing from zcrm_async (that package is not installed in the SDK's venv); the
SDK is pointed at FakeZoho by ``sdk_setup.py``, beside it, which says how.

Get Emails of a Record (``EmailRelatedRecordsOperations.get_emails_related_records``) does not fetch field
metadata first (its response is not a record), so the SDK sends exactly one request per page here.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from sdk_setup import connect, pin_cpu


def main(spec: dict[str, Any]) -> dict[str, Any]:
    # The SDK lives only in benchmarks/.sdk-venv and ships no types: mypy (run in the project's venv) sees neither.
    # fmt: off
    from zohocrmsdk.src.com.zoho.crm.api import ParameterMap  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.email_related_records import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
        EmailRelatedRecordsOperations,
        GetEmailsRelatedRecordsParam,
        ResponseWrapper,
    )
    # fmt: on

    pin_cpu(spec)
    with open(spec["seed_file"]) as f:
        ids = json.load(f)["contact_ids"][: spec["contacts"]]
    connect(spec, prefix="zcrm-bench-sdk-")
    lock = threading.Lock()
    counts = {"requests": 0, "emails": 0, "throttled": 0, "errors": 0, "contacts_done": 0}
    deadline = time.monotonic() + spec["deadline"]
    first_error: list[str] = []

    def read_contact(record_id: str) -> None:
        ops = EmailRelatedRecordsOperations(int(record_id), "Contacts")
        index: str | None = None
        while time.monotonic() < deadline:
            params = ParameterMap()
            if index is not None:
                params.add(GetEmailsRelatedRecordsParam.index, index)
            response = ops.get_emails_related_records(params)
            status = response.get_status_code() if response is not None else None
            body = response.get_object() if response is not None else None
            with lock:
                counts["requests"] += 1
                counts["throttled"] += status == 429
            if not isinstance(body, ResponseWrapper):
                with lock:
                    counts["errors"] += 1
                    if not first_error:
                        first_error.append(f"status {status}: {body!r}")
                return
            emails = body.get_emails() or []
            info = body.get_info()
            with lock:
                counts["emails"] += len(emails)
            index = info.get_next_index() if info is not None else None
            if not (info is not None and info.get_more_records() and index):
                with lock:
                    counts["contacts_done"] += 1
                return

    # The token once, outside the timing, as the other clients do.
    EmailRelatedRecordsOperations(int(ids[0]), "Contacts").get_emails_related_records(ParameterMap())
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["threads"]) as pool:
        wait([pool.submit(read_contact, record_id) for record_id in ids], timeout=spec["deadline"] + 5)
    result: dict[str, Any] = {
        **counts,
        "contacts": len(ids),
        "cpu": time.process_time() - cpu,
        "wall": time.perf_counter() - wall,
        "first_error": first_error[0] if first_error else None,
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
