"""Figure 5: Zoho's official SDK ``zohocrmsdk8-0`` 7.0.0 against ours, reading the emails of the same contacts.

The same FakeZoho process (cap 20 in flight, 50 ms a call) holds 200 contacts x 20 emails (--quick 40): two pages
a contact. Ours: ``crm.emails.iterate_many("Contacts", ids, concurrency=20)`` with ``Budget(concurrency=20)``.
The SDK: sync, in a ``ThreadPoolExecutor(20)`` (one contact per task, following ``next_index``), in its own venv
(``benchmarks/sdk_env.py``, ``benchmarks/sdk_worker.py``). Each reads the token once before the timing.
Figures: wall time, requests in the timed part (the client's count; the fake's count, which also has the one
untimed token-warming call, is in the JSON), 429s (the fake's count), client CPU per request.
"""

from __future__ import annotations

from typing import Any

from .bench_harness import (
    FakeProcess,
    Options,
    Row,
    cpu_timer,
    make_crm,
    read_json,
    run_worker,
)
from .sdk_env import run_sdk_worker

CAP = 20
LATENCY_MS = 50
EMAILS_PER_CONTACT = 20


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    ids: list[str] = read_json(spec["seed_file"])["contact_ids"][: spec["contacts"]]
    async with make_crm(spec["url"], CAP) as crm:
        await crm.emails.page("Contacts", ids[0])  # the token, outside the timing
        before = crm.counters.requests
        emails = 0
        with cpu_timer() as t:
            async with crm.emails.iterate_many("Contacts", ids, concurrency=CAP) as stream:
                async for _ in stream:
                    emails += 1
        requests = crm.counters.requests - before
        return {"emails": emails, "requests": requests, "throttled": crm.counters.throttled, **t}


def _run_sdk(fake: FakeProcess, contacts: int) -> dict[str, Any]:
    spec = {"seed_file": fake.seed_file, "contacts": contacts, "threads": CAP, "deadline": 120}
    return run_sdk_worker("sdk_worker.py", fake.url, spec, timeout=180)


def run(options: Options) -> list[Row]:
    contacts = 40 if options.quick else 200
    seed = {"kind": "world", "contacts": contacts, "emails_per_contact": EMAILS_PER_CONTACT}
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=LATENCY_MS, concurrency_cap=CAP, seed=seed) as fake:
        kinds = ("sdk", "ours", "ours@baseline") if options.baseline_tree is not None else ("sdk", "ours")
        for kind in kinds:
            fake.reset()
            if kind.startswith("ours"):
                library = options.baseline_tree if kind == "ours@baseline" else None
                spec = fake.worker_spec(seed_file=fake.seed_file, contacts=contacts)
                result = run_worker("bench_sdk", spec, timeout=180, library=library)
            else:
                result = _run_sdk(fake, contacts)
            stats = fake.stats()
            result["server_requests"] = sum(n for name, n in stats["requests"].items() if name != "token")
            result["server_requests_by_endpoint"] = stats["requests"]
            result["throttled_server"] = stats["throttled_429"]
            results[kind] = result
    expected = contacts * EMAILS_PER_CONTACT
    data: dict[str, Any] = {"contacts": contacts, "emails": expected, "cap": CAP, "latency_ms": LATENCY_MS, **results}
    figure = f"5. read all emails of {contacts} contacts x {EMAILS_PER_CONTACT} vs official SDK (cap 20 / 50 ms)"
    ours, sdk = results["ours"], results["sdk"]
    if "error" in ours:
        return [Row(figure, "n/a", "n/a", "n/a", "", "ERROR: " + ours["error"], data)]
    ours_cell = (
        f"{ours['wall']:.2f} s, {ours['requests']} requests, {ours['throttled_server']} x 429, "
        f"{ours['cpu'] / ours['requests'] * 1e6:.0f} µs CPU/request, {ours['emails']}/{expected} emails"
    )
    before = results.get("ours@baseline", {})
    if "requests" in before:
        ours_cell += (
            f"; before ({options.baseline}): {before['wall']:.2f} s, "
            f"{before['cpu'] / before['requests'] * 1e6:.0f} µs CPU/request"
        )
    if "error" in sdk:
        return [Row(figure, ours_cell, "SDK: not run", "n/a", "", "SDK NOT RUN: " + sdk["error"], data)]
    sdk_cell = (
        f"SDK, 20 threads: {sdk['wall']:.2f} s, {sdk['requests']} requests, {sdk['throttled_server']} x 429, "
        f"{sdk['cpu'] / max(1, sdk['requests']) * 1e6:.0f} µs CPU/request, {sdk['emails']}/{expected} emails"
    )
    cpu_ratio = (ours["cpu"] / ours["requests"]) / (sdk["cpu"] / max(1, sdk["requests"]))
    ok = ours["emails"] == expected and ours["wall"] <= sdk["wall"] and ours["throttled_server"] == 0
    return [
        Row(
            figure,
            ours_cell,
            sdk_cell,
            f"wall {ours['wall'] / sdk['wall']:.2f}x, CPU/request {cpu_ratio:.2f}x",
            "wall <= SDK's, all emails, 0 x 429",
            "PASS" if ok else "FAIL",
            data,
        )
    ]
