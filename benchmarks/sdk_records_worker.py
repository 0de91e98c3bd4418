"""The official SDK's side of figure 10; runs with ``benchmarks/.sdk-venv``'s python, never the project's.

``python benchmarks/sdk_records_worker.py SPEC_JSON`` does, through Zoho's SDK ``zohocrmsdk8_0`` 7.0.0 (sync,
requests-based), what figure 10's client of ours does, and prints one JSON line per part (counts, wall, CPU):

- ``coql``: every row of ``select Last_Name, Email from Contacts`` by ``CoqlOperations.get_records``, 2,000 rows
  a call by LIMIT/OFFSET, ``coql_threads`` calls side by side (the SDK is told the count: it has no way to learn it);
- ``insert``: ``count`` new Leads by ``RecordOperations.create_records``, 100 records a call (Zoho's maximum),
  ``insert_threads`` calls side by side in a ``ThreadPoolExecutor``. The SDK reads the module's field metadata
  (``GET /settings/fields``) once, before its first write: that call is in its timing.

Standalone on purpose: the SDK pointed at FakeZoho by ``sdk_setup.py``, beside it. The token is read once, outside
the timing.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sdk_setup import connect, pin_cpu

PAGE = 2000
PER_CALL = 100


def main(spec: dict[str, Any]) -> dict[str, Any]:
    pin_cpu(spec)
    connect(spec, prefix="zcrm-bench-sdk-")
    _coql_page(0, 1)  # the token, outside the timing
    return {"coql": _timed(lambda: _read_all(spec)), "insert": _timed(lambda: _insert_all(spec))}


def _timed(part: Any) -> dict[str, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    counts: dict[str, Any] = part()
    return {**counts, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}


def _coql_page(offset: int, limit: int) -> tuple[int | None, int]:
    """One COQL call: its status and how many rows the SDK parsed."""
    from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper, CoqlOperations, ResponseWrapper  # type: ignore[import-not-found, import-untyped, unused-ignore]

    body = BodyWrapper()
    body.set_select_query(f"select Last_Name, Email from Contacts where id is not null limit {limit} offset {offset}")
    response = CoqlOperations().get_records(body)
    parsed = response.get_object() if response is not None else None
    rows = len(parsed.get_data() or []) if isinstance(parsed, ResponseWrapper) else 0
    for row in parsed.get_data() if isinstance(parsed, ResponseWrapper) else []:
        row.get_key_value("Email")  # what a caller reads
    return (response.get_status_code() if response is not None else None), rows


def _read_all(spec: dict[str, Any]) -> dict[str, Any]:
    offsets = list(range(0, spec["records"], PAGE))
    with ThreadPoolExecutor(max_workers=spec["coql_threads"]) as pool:
        pages = list(pool.map(lambda offset: _coql_page(offset, PAGE), offsets, timeout=spec["deadline"]))
    return {"rows": sum(rows for _, rows in pages), "requests": len(pages),
            "failed": sum(status != 200 for status, _ in pages)}  # fmt: skip


def _insert_all(spec: dict[str, Any]) -> dict[str, Any]:
    from zohocrmsdk.src.com.zoho.crm.api import HeaderMap  # type: ignore[import-not-found, import-untyped, unused-ignore]
    from zohocrmsdk.src.com.zoho.crm.api.record import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
        ActionWrapper,
        BodyWrapper,
        Record,
        RecordOperations,
        SuccessResponse,
    )

    lock = threading.Lock()
    counts = {"ok": 0, "requests": 0, "throttled": 0}

    def insert(start: int) -> None:
        records = []
        for n in range(start, min(start + PER_CALL, spec["count"])):
            record = Record()
            record.add_key_value("Last_Name", f"SDK {n}")
            record.add_key_value("Email", f"sdk{n}@example.net")
            records.append(record)
        body = BodyWrapper()
        body.set_data(records)
        response = RecordOperations("Leads").create_records(body, HeaderMap())
        parsed = response.get_object() if response is not None else None
        ok = sum(isinstance(x, SuccessResponse) for x in parsed.get_data()) if isinstance(parsed, ActionWrapper) else 0
        with lock:
            counts["ok"] += ok
            counts["requests"] += 1
            counts["throttled"] += response is not None and response.get_status_code() == 429

    with ThreadPoolExecutor(max_workers=spec["insert_threads"]) as pool:
        list(pool.map(insert, range(0, spec["count"], PER_CALL), timeout=spec["deadline"]))
    return {**counts, "records": spec["count"]}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
