"""Figure 9: insert, then upsert, 10,000 records (cap 20 in flight, 10 of them heavy, 50 ms a call), requests and
wall time vs the minimum (--quick 1,000).

The fake process starts empty. Each write runs in a fresh client process (``Budget(concurrency=20,
heavy_concurrency=10)``, the token read before the timing):

- ``insert``: one ``crm.records.insert("Contacts", rows)`` of ``count`` new contacts (``Last_Name``, ``Email``,
  ``External_Contact_ID``);
- ``upsert``: one ``crm.records.upsert("Contacts", rows, duplicate_check_fields=["Email"])`` of ``count`` rows
  whose first half are the inserted contacts (renamed: Zoho updates them) and second half new ones (inserted).

The minimum is ceil(count / 100) requests (100 records a call). A call of more than 10 records is one of Zoho's
"complex" calls, 10 at a time ("API Limits" sub-concurrency), so the ideal wall time is whole rounds of 10 calls:
ceil(minimum / 10) x 50 ms. That ideal counts no time in the server, and this one spends about 0.1 ms of its core
on each record it writes (12 ms a call of 100, one call at a time): the peer is what this server allows, raw
aiohttp posting the same rows (encoded before its timing) 10 calls at a time, on contacts of its own. Requests are
the fake's count; credits the client's budget (1 per 10 records).
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from .bench_harness import FakeProcess, Options, Row, cpu_timer, fetch_token, make_crm, raw_session, run_worker

CAP = 20
HEAVY_CAP = 10
LATENCY_MS = 50
PER_CALL = 100
GOAL_WALL = 1.25


def rows_for(kind: str, count: int, who: str) -> list[dict[str, Any]]:
    """The rows a write sends: the insert's new contacts; the upsert's half of them renamed, half new (``who``
    keeps each client's contacts its own)."""
    if kind == "insert":
        return [{"Last_Name": f"Person {n}", "Email": f"{who}{n}@example.net", "External_Contact_ID": f"{who}-{n}"}
                for n in range(count)]  # fmt: skip
    half = count // 2
    return [{"Last_Name": f"Renamed {n}", "Email": f"{who}{n}@example.net"} for n in range(half)] + [
        {"Last_Name": f"Person {n}", "Email": f"{who}{n}@example.net"} for n in range(count, count + count - half)
    ]


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    kind, count = spec["kind"], spec["count"]
    rows = rows_for(kind, count, spec["who"])
    if spec["who"] == "raw":
        return await _raw(spec["url"], kind, rows)
    async with make_crm(spec["url"], CAP) as crm:
        await crm.authenticate()  # the token, outside the timing
        before_requests, before_credits = crm.counters.requests, crm.counters.credits_spent
        with cpu_timer() as t:
            if kind == "insert":
                result = await crm.records.insert("Contacts", rows)
            else:
                result = await crm.records.upsert("Contacts", rows, duplicate_check_fields=["Email"])
        actions: dict[str, int] = {}
        for item in result:
            action = str(item.details.get("action", "insert" if item.ok else item.code))
            actions[action] = actions.get(action, 0) + 1
        return {
            "ok": sum(1 for item in result if item.ok),
            "records": len(rows),
            "actions": actions,
            "client_requests": crm.counters.requests - before_requests,
            "credits": crm.counters.credits_spent - before_credits,
            "throttled_client": crm.counters.throttled,
            **t,
        }


async def _raw(url: str, kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor this server allows: raw aiohttp, the bodies encoded before the timing, 10 calls at a time (the
    heavy cap), no checks, no per-record results read (only counted)."""
    path = f"{url}/crm/v8/Contacts" + ("/upsert" if kind == "upsert" else "")
    extra = {"duplicate_check_fields": ["Email"]} if kind == "upsert" else {}
    bodies = [json.dumps({"data": rows[i : i + PER_CALL], **extra}) for i in range(0, len(rows), PER_CALL)]
    async with raw_session() as session:
        headers = {"Authorization": f"Zoho-oauthtoken {await fetch_token(session, url)}",
                   "Content-Type": "application/json"}  # fmt: skip
        semaphore = asyncio.Semaphore(HEAVY_CAP)
        ok = 0

        async def send(body: str) -> None:
            nonlocal ok
            async with semaphore, session.post(path, data=body, headers=headers) as response:
                ok += (await response.read()).count(b'"status":"success"')

        with cpu_timer() as t:
            async with asyncio.timeout(120):
                await asyncio.gather(*(send(body) for body in bodies))
    return {"ok": ok, "records": len(rows), "client_requests": len(bodies), **t}


def run(options: Options) -> list[Row]:
    return figure(1_000 if options.quick else 10_000)


def figure(count: int) -> list[Row]:
    """The figure's rows for writes of ``count`` records (the smoke test runs it small)."""
    minimum = math.ceil(count / PER_CALL)
    ideal = math.ceil(minimum / HEAVY_CAP) * LATENCY_MS / 1000
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=LATENCY_MS, concurrency_cap=CAP, seed={"kind": "records", "module": "Contacts",
                                                                     "count": 0}) as fake:  # fmt: skip
        for who in ("ours", "raw"):
            for kind in ("insert", "upsert"):
                fake.reset()
                spec = fake.worker_spec(kind=kind, count=count, who=who)
                result = run_worker("bench_record_writes", spec, timeout=300)
                stats = fake.stats()
                result["server_requests"] = stats["requests"].get(f"{kind}_records", 0)
                result["throttled_server"] = stats["throttled_429"]
                result["max_in_flight"] = stats["max_in_flight"]
                results[f"{who}_{kind}"] = result
    data: dict[str, Any] = {"records": count, "minimum_requests": minimum, "ideal_wall": ideal, "cap": CAP,
                            "heavy_cap": HEAVY_CAP, "latency_ms": LATENCY_MS, **results}  # fmt: skip
    errors = [r["error"] for r in results.values() if "error" in r]
    if errors:
        return [Row("9. insert / upsert records", "n/a", "n/a", "n/a", "", "ERROR: " + errors[0], data)]
    rows = []
    for kind in ("insert", "upsert"):
        r, raw = results[f"ours_{kind}"], results[f"raw_{kind}"]
        requests_ratio, wall_ratio = r["server_requests"] / minimum, r["wall"] / ideal
        raw_ratio = r["wall"] / raw["wall"]
        expected = {"insert": count} if kind == "insert" else {"update": count // 2, "insert": count - count // 2}
        ok = (r["ok"] == count and r["actions"] == expected and requests_ratio <= 1.0 and raw_ratio <= GOAL_WALL
              and r["throttled_server"] == 0)  # fmt: skip
        rows.append(
            Row(
                f"9. {kind} {count:,} records (cap 20, 10 heavy / 50 ms)",
                f"{r['server_requests']} requests (min {minimum}), {r['wall']:.2f} s, {r['ok']:,}/{count:,} ok "
                f"({', '.join(f'{n:,} {a}' for a, n in sorted(r['actions'].items()))}), {r['credits']:,.0f} credits, "
                f"{r['throttled_server']} x 429, {r['cpu'] / count * 1e6:.0f} µs CPU/record",
                f"raw aiohttp, 10 at a time, bodies made before the timing: {raw['wall']:.2f} s, {raw['ok']:,} ok; "
                f"ideal at the heavy cap: {ideal:.2f} s ({math.ceil(minimum / HEAVY_CAP)} rounds of 10 calls)",
                f"requests {requests_ratio:.2f}x min, wall {raw_ratio:.2f}x raw, {wall_ratio:.2f}x ideal",
                f"requests = min, wall <= {GOAL_WALL:.2f}x raw, 0 x 429",
                "PASS" if ok else "FAIL",
                {"benchmark": "record_writes", **data} if kind == "upsert" else {"benchmark": "record_writes",
                                                                                 "see": "upsert row"},
            )
        )  # fmt: skip
    return rows
