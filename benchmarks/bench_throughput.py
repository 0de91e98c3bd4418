"""Figure 2: throughput under Zoho's concurrency limit (FakeZoho cap 20 in flight, 50 ms a call).

The ceiling is 20 / 0.05 s = 400 requests/s. The same N Get Emails requests, all started at once, by:

- ``ours``: ``ZohoCRM(budget=Budget(concurrency=20))``, one task per request (``asyncio.gather``); the budget
  holds the rest back.
- ``semaphore``: raw aiohttp under ``asyncio.Semaphore(20)``, no retry.
- ``naive gather``: raw aiohttp, no cap; a 429 is retried after an exponential backoff with full jitter
  (50 ms doubling to 1 s, at most 50 tries) so that it completes.

A second row configures the clients for 25 in flight against the same server capped at 20 (an org whose real cap
is lower than the client was told, e.g. another app of the org or a wrong edition): ours and the semaphore client,
with the 429s timed from the start. Ours should lose nothing and stop getting 429s within the first seconds.

Each runs alone in its own process against the same fake process; 429s are the fake's own count (its stats are
reset before each client), cross-checked by the clients' counts. Achieved rate = successful responses / wall time.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from .bench_harness import FakeProcess, Options, Row, cpu_timer, fetch_token, make_crm, raw_session, run_worker

CAP = 20
LATENCY_MS = 50
IDEAL = CAP / (LATENCY_MS / 1000)
KINDS = ("ours", "semaphore", "naive gather")
GOAL_VS_SEMAPHORE = 0.99


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    kind: str = spec["kind"]
    url: str = spec["url"]
    ids: list[str] = spec["contact_ids"]
    n: int = spec["n"]
    ok = throttled = failed = 0
    client_cap: int = spec.get("client_cap", CAP)
    if kind == "ours":
        from zcrm_async import APIError

        async with make_crm(url, client_cap) as crm:
            await crm.emails.page("Contacts", ids[0])  # the token, outside the timing as for the others
            crm.counters.throttled = 0
            loop = asyncio.get_running_loop()
            started = loop.time()
            last_429 = [0.0]
            if client_cap != CAP:  # only the over-the-cap row times its 429s: a listener costs every request
                crm.events.subscribe(
                    lambda event: last_429.__setitem__(0, loop.time() - started) if event.kind == "throttled" else None
                )

            async def ours(i: int) -> bool:
                try:
                    await crm.emails.page("Contacts", ids[i % len(ids)])
                except APIError:
                    return False
                return True

            with cpu_timer() as t:
                outcomes = await _bounded(ours, n, spec["deadline"])
            ok = sum(1 for o in outcomes if o)
            return {
                "kind": kind,
                "ok": ok,
                "failed": n - ok,
                "throttled_client": crm.counters.throttled,
                "retries": crm.counters.retries,
                "last_429_at": last_429[0],
                "final_limit": crm.limiter.concurrency,
                **t,
            }

    async with raw_session(limit=0 if kind == "naive gather" else 100) as session:
        headers = {"Authorization": f"Zoho-oauthtoken {await fetch_token(session, url)}"}
        urls = [f"{url}/crm/v8/Contacts/{i}/Emails" for i in ids]
        semaphore = asyncio.Semaphore(client_cap)
        rng = random.Random(0)

        async def get(i: int) -> int:
            async with session.get(urls[i % len(urls)], headers=headers) as resp:
                await resp.read()
                status: int = resp.status
                return status

        async def capped(i: int) -> bool:
            nonlocal throttled
            async with semaphore:
                status = await get(i)
            throttled += status == 429
            return status == 200

        async def naive(i: int) -> bool:
            nonlocal throttled
            for attempt in range(50):
                status = await get(i)
                if status != 429:
                    return status == 200
                throttled += 1
                await asyncio.sleep(rng.uniform(0, min(1.0, 0.05 * 2**attempt)))
            return False

        with cpu_timer() as t:
            outcomes = await _bounded(capped if kind == "semaphore" else naive, n, spec["deadline"])
        ok = sum(1 for o in outcomes if o)
        failed = n - ok
        return {"kind": kind, "ok": ok, "failed": failed, "throttled_client": throttled, **t}


async def _bounded(one: Any, n: int, deadline: float) -> list[bool]:
    """Start all ``n`` calls at once (the way a naive caller would); give up on what is left at ``deadline``."""
    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [task.result() if not task.exception() else False for task in done]


def run(options: Options) -> list[Row]:
    n = 500 if options.quick else 3_000
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(
        latency_ms=LATENCY_MS, concurrency_cap=CAP, seed={"kind": "world", "contacts": 50, "emails_per_contact": 10}
    ) as fake:
        clients = [*((k, CAP, None) for k in KINDS), ("ours", 25, None), ("semaphore", 25, None)]
        if options.baseline_tree is not None:  # the baseline's library, within the cap, beside ours
            clients.insert(1, ("ours", CAP, options.baseline_tree))
        for kind, client_cap, library in clients:
            fake.reset()
            spec = fake.worker_spec(
                kind=kind, client_cap=client_cap, contact_ids=fake.seed["contact_ids"], n=n,
                deadline=n / IDEAL * 8 + 10,
            )  # fmt: skip
            result = run_worker("bench_throughput", spec, timeout=n / IDEAL * 8 + 60, library=library)
            stats = fake.stats()
            result["throttled_server"] = stats["throttled_429"]
            result["max_in_flight"] = stats["max_in_flight"]
            result["server_requests"] = stats["requests"].get("get_emails", 0)
            if "error" not in result:
                result["rate"] = result["ok"] / result["wall"]
                result["share_of_ideal"] = result["rate"] / IDEAL
            name = kind if client_cap == CAP else f"{kind}@{client_cap}"
            results[name if library is None else f"{name}@baseline"] = result
    errors = [r["error"] for r in results.values() if "error" in r]
    data: dict[str, Any] = {
        "requests": n,
        "ideal_rate": IDEAL,
        "cap": CAP,
        "latency_ms": LATENCY_MS,
        "clients": results,
    }
    if errors:
        return [Row("2. throughput under cap 20 / 50 ms", "n/a", "n/a", "n/a", "", "ERROR: " + errors[0], data)]

    def cell(r: dict[str, Any]) -> str:
        failed = f", {r['failed']} failed" if r["failed"] else ""
        return f"{r['rate']:.0f} req/s = {r['share_of_ideal']:.0%} of 400, {r['throttled_server']} x 429{failed}"

    ours, sem, naive = (results[k] for k in KINDS)
    over_ours, over_sem = results["ours@25"], results["semaphore@25"]
    over_verdict = over_ours["failed"] == 0 and over_ours["last_429_at"] <= 3.0 and over_ours["final_limit"] <= CAP
    verdict = ours["rate"] >= GOAL_VS_SEMAPHORE * sem["rate"] and ours["throttled_server"] == 0 and ours["failed"] == 0
    return [
        Row(
            f"2. throughput, {n} requests, cap 20 / 50 ms (ideal 400 req/s)",
            cell(ours)
            + (
                f"; before ({options.baseline}): {results['ours@baseline']['rate']:.0f} req/s ="
                f" {results['ours@baseline']['rate'] / sem['rate']:.2f}x semaphore"
                if "ours@baseline" in results
                else ""
            ),
            f"semaphore(20): {cell(sem)}; naive gather+backoff: {cell(naive)}",
            f"{ours['rate'] / sem['rate']:.2f}x semaphore, {ours['rate'] / naive['rate']:.2f}x naive",
            f">= {GOAL_VS_SEMAPHORE:.2f}x semaphore, 0 x 429",
            "PASS" if verdict else "FAIL",
            data,
        ),
        Row(
            f"2. throughput, {n} requests, clients set to 25 against a server capped at 20 / 50 ms",
            f"{cell(over_ours)}; last 429 at {over_ours['last_429_at']:.1f} s, limit adapted to "
            f"{over_ours['final_limit']}",
            f"semaphore(25), no retry: {cell(over_sem)}",
            f"{over_ours['ok']}/{n} vs {over_sem['ok']}/{n} requests succeeded",
            "nothing lost, 429s over within 3 s",
            "PASS" if over_verdict else "FAIL",
            data,
        ),
    ]
