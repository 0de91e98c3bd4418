"""Figure 6: peak memory of the client while it iterates 1,000,000 emails with ``iterate_many`` (--quick 50,000).

The fake process is seeded with ``seed_world(contacts=25_000, emails_per_contact=40)`` (--quick 1,250 contacts),
no latency, a cap of 100 in flight; the client reads with ``Budget(concurrency=20)`` and
``iterate_many("Contacts", ids, concurrency=20)``. Two client processes, each fresh:

- ``stream``: consumes every ``(record_id, email)`` pair and keeps none - what the library is built for;
- ``list``: the naive approach, collects the pairs into a list, over a tenth of the contacts; its growth per
  email, times the full count, is what collecting everything would take.

Growth = peak RSS at the end (``ru_maxrss``) - RSS just before iterating (after imports, the ids list, the token
and one warm-up page), so the ids and the interpreter are not counted. Ratio = stream growth / the list's
growth scaled to the full count.
"""

from __future__ import annotations

import gc
from typing import Any

from .bench_harness import (
    FakeProcess,
    Options,
    Row,
    cpu_timer,
    current_rss_kib,
    make_crm,
    peak_rss_kib,
    read_json,
    run_worker,
)

CONCURRENCY = 20
EMAILS_PER_CONTACT = 40
GOAL = 0.05


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    ids: list[str] = read_json(spec["seed_file"])["contact_ids"][: spec["contacts"]]
    keep = spec["kind"] == "list"
    async with make_crm(spec["url"], CONCURRENCY) as crm:
        await crm.emails.page("Contacts", ids[0])
        gc.collect()
        baseline, peak_before = current_rss_kib(), peak_rss_kib()
        kept: list[Any] = []
        count = 0
        with cpu_timer() as t:
            async with crm.emails.iterate_many("Contacts", ids, concurrency=CONCURRENCY) as stream:
                async for pair in stream:
                    count += 1
                    if keep:
                        kept.append(pair)
        peak = peak_rss_kib()
        return {
            "kind": spec["kind"],
            "contacts": len(ids),
            "emails": count,
            "kept": len(kept),
            "rss_before_kib": baseline,
            "peak_before_kib": peak_before,
            "peak_after_kib": peak,
            "growth_kib": max(0, peak - baseline),
            "requests": crm.counters.requests,
            **t,
        }


def run(options: Options) -> list[Row]:
    contacts = 1_250 if options.quick else 25_000
    total = contacts * EMAILS_PER_CONTACT
    seed = {"kind": "world", "contacts": contacts, "emails_per_contact": EMAILS_PER_CONTACT}
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=0, concurrency_cap=100, seed=seed, timeout=400) as fake:
        server = {"seed_seconds": fake.seed_seconds, "server_rss_after_seed_kib": fake.server_rss_kib}
        for kind, count in (("stream", contacts), ("list", contacts // 10)):
            spec = fake.worker_spec(kind=kind, seed_file=fake.seed_file, contacts=count)
            results[kind] = run_worker("bench_memory", spec, timeout=420)
    data: dict[str, Any] = {"emails": total, "contacts": contacts, "fake": server, **results}
    figure = f"6. peak RSS growth iterating {total:,} emails (iterate_many, latency 0)"
    errors = [r["error"] for r in results.values() if "error" in r]
    if errors:
        return [Row(figure, "n/a", "n/a", "n/a", "", "ERROR: " + errors[0], data)]
    stream, listed = results["stream"], results["list"]
    per_email = listed["growth_kib"] * 1024 / max(1, listed["kept"])
    scaled_mib = per_email * total / 2**20
    stream_mib = stream["growth_kib"] / 1024
    ratio = stream_mib / scaled_mib
    data["list_bytes_per_email"] = per_email
    data["list_scaled_mib"] = scaled_mib
    ok = stream["emails"] == total and ratio <= GOAL
    return [
        Row(
            figure,
            f"streaming: +{stream_mib:.1f} MiB for {stream['emails']:,} emails "
            f"({stream['emails'] / stream['wall']:,.0f} emails/s)",
            f"collecting into a list: +{listed['growth_kib'] / 1024:.1f} MiB for {listed['kept']:,} "
            f"= {per_email:,.0f} B/email -> {scaled_mib:,.0f} MiB for {total:,}",
            f"{ratio:.4f}x",
            f"<= {GOAL}x the list",
            "PASS" if ok else "FAIL",
            data,
        )
    ]
