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

KINDS = ("ours", "fan-out", "raw+decode", "raw")
#: Our clients, which ``--baseline`` runs again with the baseline's library (kind + AT_BASELINE).
OURS = ("ours", "fan-out")
AT_BASELINE = "@baseline"
CONCURRENCY = 25
GOAL = 1.25
#: Figure 5's read path measured here, warm: ``iterate_many`` against ``page()``'s CPU per request.
GOAL_FAN_OUT = 1.3
#: 20 emails a contact: ``page()`` and the raw clients read its first page (10 emails), the fan-out both pages.
EMAILS_PER_CONTACT = 20
PAGES_PER_CONTACT = 2


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
    if kind == "fan-out":
        return await _fan_out(url, ids, n, spec["warmup"], deadline)

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


async def _fan_out(url: str, ids: list[str], n: int, warmup: int, deadline: float) -> dict[str, Any]:
    """``iterate_many`` over the contacts (2 pages each: the cursor chain too), ``CONCURRENCY`` at a time, until
    ``n`` requests; warmed up (token, connections) as the other clients are."""
    async with make_crm(url, CONCURRENCY) as crm:

        async def read(requests: int) -> int:
            contacts = [ids[i % len(ids)] for i in range(requests // PAGES_PER_CONTACT)]
            emails = 0
            many = crm.emails.iterate_many("Contacts", contacts, concurrency=CONCURRENCY)
            async with asyncio.timeout(deadline), many as stream:
                async for _ in stream:
                    emails += 1
            return emails

        await read(warmup)
        before = crm.counters.requests
        with cpu_timer() as t:
            emails = await read(n)
        done = crm.counters.requests - before
        return {"kind": "fan-out", "requests": done, "emails": emails, **t, "throttled": crm.counters.throttled}


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
    base = options.baseline_tree
    # The baseline's library runs the same clients of ours (page() and the fan-out) beside them, in every round.
    kinds = [*KINDS, *(f"{kind}{AT_BASELINE}" for kind in OURS)] if base is not None else list(KINDS)
    per_request: dict[str, list[float]] = {kind: [] for kind in kinds}
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    seed = {"kind": "world", "contacts": 25, "emails_per_contact": EMAILS_PER_CONTACT}
    with FakeProcess(latency_ms=0, concurrency_cap=1000, seed=seed) as fake:
        ids = fake.seed["contact_ids"]
        for r in range(rounds):
            for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
                name = kind.removesuffix(AT_BASELINE)
                spec = fake.worker_spec(kind=name, contact_ids=ids, n=per_round, warmup=300, deadline=120)
                library = base if kind.endswith(AT_BASELINE) else None
                result = run_worker("bench_cpu", spec, timeout=180, library=library)
                results.append({"round": r, "client": kind, **result})
                if "error" in result:
                    errors.append(result["error"])
                elif result["requests"]:
                    per_request[kind].append(result["cpu"] / result["requests"] * 1e6)
    if errors:
        row = Row("1. client CPU per request", "n/a", "n/a", "n/a", f"<= {GOAL}x raw", "ERROR: " + errors[0])
        row.data["runs"] = results
        return [row]
    us = {kind: median(values) for kind, values in per_request.items()}
    data = {
        "requests_per_client": per_round * rounds,
        "rounds": rounds,
        "concurrency": CONCURRENCY,
        "baseline": options.baseline,
        "us_per_request_median": us,
        "us_per_request_rounds": per_request,
        "ratio_vs_raw_decode": us["ours"] / us["raw+decode"],
        "ratio_vs_raw": us["ours"] / us["raw"],
        "fan_out_vs_page": us["fan-out"] / us["ours"],
        "runs": results,
    }
    return [_page_row(us, options, data), _fan_out_row(us, options)]


def _before(us: dict[str, float], kind: str, options: Options) -> str:
    """``; before: N µs (REF)`` when the baseline ran."""
    before = us.get(f"{kind}{AT_BASELINE}")
    if before is None:
        return ""
    return f"; before ({options.baseline}): {before:.0f} µs = {us[kind] / before:.2f}x after/before"


def _page_row(us: dict[str, float], options: Options, data: dict[str, Any]) -> Row:
    ratio = us["ours"] / us["raw+decode"]
    return Row(
        "1. client CPU per request (Get Emails, 25 at a time)",
        f"{us['ours']:.0f} µs" + _before(us, "ours", options),
        f"raw aiohttp+msgspec {us['raw+decode']:.0f} µs; raw aiohttp no decode {us['raw']:.0f} µs",
        f"{ratio:.2f}x (vs no decode {us['ours'] / us['raw']:.2f}x)",
        f"<= {GOAL:.2f}x",
        "PASS" if ratio <= GOAL else "FAIL",
        data,
    )


def _fan_out_row(us: dict[str, float], options: Options) -> Row:
    ratio = us["fan-out"] / us["ours"]
    return Row(
        "1. fan-out CPU per request (iterate_many, 2 pages a contact, 25 at a time)",
        f"{us['fan-out']:.0f} µs" + _before(us, "fan-out", options),
        f"page() {us['ours']:.0f} µs",
        f"{ratio:.2f}x page()",
        f"<= {GOAL_FAN_OUT:.2f}x page()",
        "PASS" if ratio <= GOAL_FAN_OUT else "FAIL",
        {"benchmark": "cpu", "see": "the page() row"},
    )
