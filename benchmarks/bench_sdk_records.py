"""Figure 10: Zoho's official SDK ``zohocrmsdk8-0`` 7.0.0 against ours, inserting records and reading by COQL.

The same FakeZoho process (cap 20 in flight, 10 heavy, 50 ms a call) holds 10,000 Contacts (--quick 2,000). Each
client, in its own process, reads every one of them by COQL (2,000 rows a call) and then inserts 10,000 new Leads
(--quick 1,000; each client its own), 100 records a call:

- ours: ``crm.records.coql(Query("Contacts", ["Last_Name", "Email"]))`` (4 calls side by side) and
  ``crm.records.insert("Leads", rows)``, ``Budget(concurrency=20, heavy_concurrency=10)``;
- the SDK (sync, in its own venv: ``benchmarks/sdk_env.py``, ``benchmarks/sdk_records_worker.py``):
  ``CoqlOperations.get_records`` over the same pages in a ``ThreadPoolExecutor(4)`` (told the count, which it
  cannot learn), and ``RecordOperations.create_records`` of 100 ``Record`` s a call in a ``ThreadPoolExecutor(10)``
  (Zoho's 10 heavy calls at a time).

Each reads the token once before the timing. Figures per part: wall time, requests, client CPU per record.
"""

from __future__ import annotations

from typing import Any

from .bench_harness import (
    FakeProcess,
    Options,
    Row,
    cpu_timer,
    make_crm,
    run_worker,
)
from .sdk_env import run_sdk_worker

CAP = 20
LATENCY_MS = 50
PARTS = ("coql", "insert")


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    from zcrm_async.coql import Query

    rows = [{"Last_Name": f"Ours {n}", "Email": f"ours{n}@example.net"} for n in range(spec["count"])]
    async with make_crm(spec["url"], CAP) as crm:
        await crm.authenticate()  # the token, outside the timing
        out: dict[str, Any] = {}
        before = crm.counters.requests
        with cpu_timer() as t:
            read = 0
            async for row in crm.records.coql(Query("Contacts", ["Last_Name", "Email"])):
                read += bool(row.get("Email"))
        out["coql"] = {"rows": read, "requests": crm.counters.requests - before, **t}
        before = crm.counters.requests
        with cpu_timer() as t:
            result = await crm.records.insert("Leads", rows)
        out["insert"] = {"ok": sum(1 for item in result if item.ok), "records": len(rows),
                         "requests": crm.counters.requests - before, **t}  # fmt: skip
        return out


def _run_sdk(fake: FakeProcess, records: int, count: int) -> dict[str, Any]:
    spec = {"records": records, "count": count, "coql_threads": 4, "insert_threads": 10, "deadline": 240}
    return run_sdk_worker("sdk_records_worker.py", fake.url, spec, timeout=300)


def run(options: Options) -> list[Row]:
    return figure(2_000, 1_000) if options.quick else figure(10_000, 10_000)


def figure(records: int, count: int) -> list[Row]:
    """The figure's rows: a COQL read of ``records`` Contacts and an insert of ``count`` Leads, by each client."""
    seed = {"kind": "records", "module": "Contacts", "count": records}
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=LATENCY_MS, concurrency_cap=CAP, seed=seed) as fake:
        for kind in ("sdk", "ours"):
            fake.reset()
            if kind == "ours":
                results[kind] = run_worker("bench_sdk_records", fake.worker_spec(count=count), timeout=300)
            else:
                results[kind] = _run_sdk(fake, records, count)
            stats = fake.stats()
            results[kind]["server_requests_by_endpoint"] = stats["requests"]
            results[kind]["throttled_server"] = stats["throttled_429"]
    data: dict[str, Any] = {"records": records, "inserted": count, "cap": CAP, "latency_ms": LATENCY_MS, **results}
    ours, sdk = results["ours"], results["sdk"]
    title = {"coql": f"10. COQL read of {records:,} records vs official SDK (cap 20 / 50 ms)",
             "insert": f"10. insert {count:,} records vs official SDK (cap 20, 10 heavy / 50 ms)"}  # fmt: skip
    if "error" in ours:
        return [Row(title["insert"], "n/a", "n/a", "n/a", "", "ERROR: " + ours["error"], data)]
    rows = []
    for part in PARTS:
        mine = ours[part]
        done = mine.get("rows", mine.get("ok", 0))
        cell = (f"{mine['wall']:.2f} s, {mine['requests']} requests, {mine['cpu'] / done * 1e6:.1f} µs CPU/record, "
                f"{done:,} records")  # fmt: skip
        payload = {"benchmark": "sdk_records", **data} if part == "insert" else {"benchmark": "sdk_records"}
        if "error" in sdk:
            rows.append(Row(title[part], cell, "SDK: not run", "n/a", "", "SDK NOT RUN: " + sdk["error"], payload))
            continue
        theirs = sdk[part]
        their_done = theirs.get("rows", theirs.get("ok", 0))
        metadata = sdk["server_requests_by_endpoint"].get("get_fields", 0) if part == "insert" else 0
        requests = f"{theirs['requests']} requests" + (f" + {metadata} field metadata read" if metadata else "")
        peer = (f"SDK: {theirs['wall']:.2f} s, {requests}, "
                f"{theirs['cpu'] / max(1, their_done) * 1e6:.1f} µs CPU/record, {their_done:,} records")  # fmt: skip
        cpu_ratio = (mine["cpu"] / done) / (theirs["cpu"] / max(1, their_done))
        expected = records if part == "coql" else count
        ok = done == expected and mine["wall"] <= theirs["wall"] and cpu_ratio <= 1.0
        rows.append(Row(title[part], cell, peer, f"wall {mine['wall'] / theirs['wall']:.2f}x, CPU/record "
                        f"{cpu_ratio:.2f}x", "wall and CPU/record <= SDK's, every record", "PASS" if ok else "FAIL",
                        payload))  # fmt: skip
    return rows
