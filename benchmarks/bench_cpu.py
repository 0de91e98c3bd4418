"""Figure 1: client CPU per request, ``ZohoCRM`` against raw aiohttp doing the same Get Emails requests.

Every client sends the same GET ``/crm/v8/Contacts/{id}/Emails`` (10 emails a page) with the same
``Authorization`` header to the same FakeZoho process (no latency, no cap), 25 at a time (25 workers each sending
one request after another). The clients:

- ``ours``: ``crm.emails.page("Contacts", id)`` (auth, budget, retries, events, msgspec decode to ``EmailsPage``);
- ``raw+decode``: aiohttp ``session.get`` + ``read()`` + the same msgspec decoder (``models.decode_emails_page``);
- ``raw``: aiohttp ``session.get`` + ``read()``, no decode.

Each client runs in its own process, one round at a time, the order rotating between rounds (A/B/C, B/C/A, ...),
so they share the machine's drift; a round warms up (token, connections) before it measures
``time.process_time()`` over its requests. The figure is the median over rounds of client CPU / requests.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from .bench_harness import (
    FakeProcess,
    Options,
    Row,
    cpu_timer,
    fetch_token,
    make_crm,
    median,
    raw_session,
    run_worker,
)

KINDS = ("ours", "raw+decode", "raw")
CONCURRENCY = 25
GOAL = 1.25


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    kind: str = spec["kind"]
    url: str = spec["url"]
    ids: list[str] = spec["contact_ids"]
    n: int = spec["n"]
    deadline: float = spec["deadline"]
    if kind == "ours":
        async with make_crm(url, CONCURRENCY) as crm:

            async def one(i: int) -> int:
                page = await crm.emails.page("Contacts", ids[i % len(ids)])
                return len(page.Emails)

            await _run(one, spec["warmup"], deadline)
            with cpu_timer() as t:
                done, emails = await _run(one, n, deadline)
            return {"kind": kind, "requests": done, "emails": emails, **t, "throttled": crm.counters.throttled}

    from zcrm_async.models import decode_emails_page

    decode = kind == "raw+decode"
    async with raw_session() as session:
        headers = {"Authorization": f"Zoho-oauthtoken {await fetch_token(session, url)}"}
        urls = [f"{url}/crm/v8/Contacts/{i}/Emails" for i in ids]

        async def raw_one(i: int) -> int:
            async with session.get(urls[i % len(urls)], headers=headers) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"unexpected {resp.status}")
            return len(decode_emails_page(body).Emails) if decode else 10

        await _run(raw_one, spec["warmup"], deadline)
        with cpu_timer() as t:
            done, emails = await _run(raw_one, n, deadline)
        return {"kind": kind, "requests": done, "emails": emails, **t, "throttled": 0}


async def _run(one: Any, n: int, deadline: float) -> tuple[int, int]:
    """``n`` calls of ``one(i)``, ``CONCURRENCY`` workers at a time, stopping at ``deadline`` seconds anyway."""
    counter = itertools.count()
    totals = [0, 0]

    async def loop() -> None:
        while (i := next(counter)) < n:
            emails = await one(i)  # awaited first: `totals[1] += await ...` would lose updates across tasks
            totals[0] += 1
            totals[1] += emails

    try:
        async with asyncio.timeout(deadline):
            await asyncio.gather(*(loop() for _ in range(CONCURRENCY)))
    except TimeoutError:
        pass
    return totals[0], totals[1]


def run(options: Options) -> list[Row]:
    total = 2_000 if options.quick else 20_000
    rounds = 3 if options.quick else 5
    per_round = total // rounds
    per_request: dict[str, list[float]] = {kind: [] for kind in KINDS}
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    with FakeProcess(
        latency_ms=0, concurrency_cap=1000, seed={"kind": "world", "contacts": 25, "emails_per_contact": 10}
    ) as fake:
        ids = fake.seed["contact_ids"]
        for r in range(rounds):
            order = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
            for kind in order:
                spec = fake.worker_spec(kind=kind, contact_ids=ids, n=per_round, warmup=300, deadline=120)
                result = run_worker("bench_cpu", spec, timeout=180)
                results.append({"round": r, **result})
                if "error" in result:
                    errors.append(result["error"])
                elif result["requests"]:
                    per_request[kind].append(result["cpu"] / result["requests"] * 1e6)
    if errors:
        return [
            Row(
                "1. client CPU per request",
                "n/a",
                "n/a",
                "n/a",
                f"<= {GOAL}x raw",
                "ERROR: " + errors[0],
                {"runs": results},
            )
        ]
    ours, raw_dec, raw = (median(per_request[k]) for k in KINDS)
    ratio = ours / raw_dec
    data = {
        "requests_per_client": per_round * rounds,
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "us_per_request_median": {"ours": ours, "raw+decode": raw_dec, "raw": raw},
        "us_per_request_rounds": per_request,
        "ratio_vs_raw_decode": ratio,
        "ratio_vs_raw": ours / raw,
        "runs": results,
    }
    return [
        Row(
            "1. client CPU per request (Get Emails, 25 at a time)",
            f"{ours:.0f} µs",
            f"raw aiohttp+msgspec {raw_dec:.0f} µs; raw aiohttp no decode {raw:.0f} µs",
            f"{ratio:.2f}x (vs no decode {ours / raw:.2f}x)",
            f"<= {GOAL:.2f}x",
            "PASS" if ratio <= GOAL else "FAIL",
            data,
        )
    ]
