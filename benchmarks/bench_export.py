"""Figure 8: export 250,000 records three ways: Bulk Read, COQL, Get Records (--quick 25,000).

The fake process holds that many Contacts (``Last_Name``, ``Email``), 10 ms a call, 20 in flight; its Bulk Read
jobs are done at once (``bulk_job_seconds=0``: the figure measures the client, not Zoho's queue, which takes
minutes for a real job). Each way runs in a fresh client process that keeps nothing (counts rows, checks their
ids ascend) and reports its wall and CPU time, its requests, the credits its budget counted (Zoho's published
prices: a Bulk Read job 50, a COQL call of 2,000 rows 3, a Get Records page 1, status reads and downloads 1) and
its own peak RSS (``VmHWM``):

- ``crm.bulk.read.export("Contacts", fields=...)``: 200,000 records a job, the next page's job by its token;
  polls every 50 ms to 200 ms (``Poll``);
- ``crm.records.coql(Query("Contacts", fields))``: 2,000 rows a call, 4 at a time, by OFFSET to 100,000 then by
  key (``id > last``);
- ``crm.records.iterate("Contacts", fields=...)``: 200 a page; Zoho's ``page_token`` reaches 100,000 records,
  so this way stops there (what it read is reported, and the error that stopped it).

Goal: every way under 150 MiB; Bulk Read and COQL read every record.
"""

from __future__ import annotations

from typing import Any

from .bench_harness import FakeProcess, Options, Row, cpu_timer, make_crm, run_worker

FIELDS = ["Last_Name", "Email"]
BOUND_MIB = 150
WAYS = ("bulk_read", "coql", "get_records")


def _peak_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    from zcrm_async.bulk_jobs import BulkJobs, Poll
    from zcrm_async.coql import Query

    way = spec["way"]
    rows, last, ordered, stopped = 0, 0, True, ""
    async with make_crm(spec["url"], 20) as crm:
        await crm.authenticate()
        if way == "bulk_read":
            source = BulkJobs(crm, poll=Poll(initial=0.05, maximum=0.2)).read.export("Contacts", fields=FIELDS)
        elif way == "coql":
            source = crm.records.coql(Query("Contacts", FIELDS))
        else:
            source = crm.records.iterate("Contacts", fields=FIELDS)
        with cpu_timer() as t:
            try:
                async for row in source:
                    rows += 1
                    current = int(row["id"])
                    ordered = ordered and (current > last if way != "get_records" else True)
                    last = current
            except Exception as exc:  # Get Records' reach: reported, not hidden
                stopped = f"{type(exc).__name__}: {exc}"[:200]
        return {"way": way, "rows": rows, "ordered": ordered, "stopped": stopped, "peak_kib": _peak_kib(),
                "requests": crm.counters.requests, "credits": crm.counters.credits_spent, **t}  # fmt: skip


def run(options: Options) -> list[Row]:
    return figure(25_000 if options.quick else 250_000)


def figure(count: int) -> list[Row]:
    """The figure's row for an export of ``count`` records (the smoke test runs it small)."""
    seed = {"kind": "records", "module": "Contacts", "count": count}
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=10, concurrency_cap=20, seed=seed, timeout=400, bulk_job_seconds=0.0) as fake:
        for way in WAYS:
            results[way] = run_worker("bench_export", fake.worker_spec(way=way), timeout=600)
    data: dict[str, Any] = {"records": count, **results}
    figure = f"8. export {count:,} records: Bulk Read vs COQL vs Get Records (10 ms, cap 20)"
    errors = [r["error"] for r in results.values() if "error" in r]
    if errors:
        return [Row(figure, "n/a", "n/a", "n/a", "", "ERROR: " + errors[0], data)]
    bulk, coql, get = (results[way] for way in WAYS)

    def said(r: dict[str, Any]) -> str:
        cpu_per_row = r["cpu"] / max(1, r["rows"]) * 1e6
        return (f"{r['rows']:,} rows, {r['wall']:.1f} s, {r['requests']:,} requests, {r['credits']:,.0f} credits, "
                f"{r['peak_kib'] / 1024:.0f} MiB peak, {cpu_per_row:.1f} us CPU/row")  # fmt: skip

    peer = f"COQL: {said(coql)}; Get Records: {said(get)}" + (f" (stopped: {get['stopped']})" if get["stopped"] else "")
    ratio = (f"credits {bulk['credits'] / coql['credits']:.2f}x COQL's, {bulk['credits'] / max(1, get['credits']):.2f}x"
             f" Get Records'; wall {bulk['wall'] / coql['wall']:.2f}x COQL's")  # fmt: skip
    ok = (bulk["rows"] == coql["rows"] == count and bulk["ordered"] and coql["ordered"]
          and all(r["peak_kib"] < BOUND_MIB * 1024 for r in (bulk, coql, get)))  # fmt: skip
    goal = f"every way < {BOUND_MIB} MiB; Bulk Read and COQL read all {count:,}"
    return [Row(figure, f"Bulk Read: {said(bulk)}", peer, ratio, goal, "PASS" if ok else "FAIL", data)]
