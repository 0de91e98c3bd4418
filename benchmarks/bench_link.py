"""Figure 3: link 10,000 emails to deals (cap 20 in flight, 50 ms a call), requests and wall time vs the minimum.

Seeding happens in the fake's process before anything is timed (``bench_harness._seed``, kind ``link``): each
contact gets its sent emails (sent mail skips Deal Prediction, so every email starts unlinked), then one deal
associated with it. Three disjoint sets of contacts, so every client links fresh emails:

- ``even``: 500 contacts x 20 emails (--quick: 50 x 20);
- ``uneven``: 500 contacts with 1..45 emails each (deterministic), 10,000 in all (--quick: 1,000 over 50);
- ``naive``: the same uneven sizes, linked by a raw aiohttp client one request per email (the single-email
  endpoint) under ``asyncio.Semaphore(20)`` - polite, but unbatched.

Ours is one ``crm.emails.link_deal(items)`` call with ``Budget(concurrency=20)``. The minimum is
sum over contacts of ceil(n / 20) requests (the endpoint is per contact, 20 emails at most); the ideal wall time
is minimum / 400 req/s rounded up to whole rounds of 20 calls (ceil(minimum / 20) x 50 ms). Requests are the
fake's count of link calls.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from .bench_harness import (
    FakeProcess,
    Options,
    Row,
    cpu_timer,
    fetch_token,
    make_crm,
    raw_session,
    read_json,
    run_worker,
    uneven_split,
)

CAP = 20
LATENCY_MS = 50
RATE = CAP / (LATENCY_MS / 1000)
GOAL_WALL = 1.10
#: A client run with ``--baseline``'s library: its group is the split's name and this.
AT_BASELINE = "@baseline"


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    seed = read_json(spec["seed_file"])
    owner: str = seed["owner_id"]
    contacts: list[dict[str, Any]] = seed["groups"][spec["group"]]
    url: str = spec["url"]
    if spec["kind"] == "ours":
        from zcrm_async.emails import DealLink

        items = [
            DealLink(contact_id=c["contact_id"], message_id=m, deal_id=c["deal_id"], owner_id=owner)
            for c in contacts
            for m in c["message_ids"]
        ]
        async with make_crm(url, CAP) as crm:
            await crm.emails.page("Contacts", contacts[0]["contact_id"])  # the token, outside the timing
            before = crm.counters.requests
            with cpu_timer() as t:
                async with asyncio.timeout(spec["deadline"]):
                    outcome = await crm.emails.link_deal(items)
            linked = sum(1 for r in outcome if r.ok)
            return {
                "linked": linked,
                "items": len(items),
                "client_requests": crm.counters.requests - before,
                "throttled_client": crm.counters.throttled,
                **t,
            }

    if spec["kind"] == "raw":
        return await _raw(url, owner, contacts, spec["deadline"])
    async with raw_session() as session:
        headers = {
            "Authorization": f"Zoho-oauthtoken {await fetch_token(session, url)}",
            "Content-Type": "application/json",
        }
        semaphore = asyncio.Semaphore(CAP)
        counts = {"linked": 0, "requests": 0, "throttled": 0}

        async def link_one(contact: dict[str, Any], message_id: str) -> None:
            body = json.dumps(
                {
                    "Emails": [
                        {
                            "owner": {"id": owner},
                            "linked_record": {"module": {"api_name": "Deals"}, "id": contact["deal_id"]},
                        }
                    ]
                }
            )
            path = f"{url}/crm/v8/Contacts/{contact['contact_id']}/Emails/{message_id}/actions/link_record"
            async with semaphore, session.post(path, data=body, headers=headers) as resp:
                await resp.read()
            counts["requests"] += 1
            counts["throttled"] += resp.status == 429
            counts["linked"] += resp.status == 200

        with cpu_timer() as t:
            try:
                async with asyncio.timeout(spec["deadline"]):
                    await asyncio.gather(*(link_one(c, m) for c in contacts for m in c["message_ids"]))
            except TimeoutError:
                pass
        total = sum(len(c["message_ids"]) for c in contacts)
        return {
            "linked": counts["linked"],
            "items": total,
            "client_requests": counts["requests"],
            "throttled_client": counts["throttled"],
            **t,
        }


async def _raw(url: str, owner: str, contacts: list[dict[str, Any]], deadline: float) -> dict[str, Any]:
    """The floor: raw aiohttp under ``asyncio.Semaphore(20)`` posting the minimum requests' bodies, built (by our
    ``plan_link_deal``, with the Deals module's id) before the timing: the server's and the network's share of
    the wall, with no client work but sending."""
    from zcrm_async.emails import DealLink, plan_link_deal
    from zcrm_async.testing import DEALS_MODULE_ID

    items = [
        DealLink(contact_id=c["contact_id"], message_id=m, deal_id=c["deal_id"], owner_id=owner)
        for c in contacts
        for m in c["message_ids"]
    ]
    planned = plan_link_deal(items, deals_module_id=DEALS_MODULE_ID)
    async with raw_session() as session:
        headers = {"Authorization": f"Zoho-oauthtoken {await fetch_token(session, url)}"}
        headers["Content-Type"] = "application/json"
        semaphore = asyncio.Semaphore(CAP)
        statuses: list[int] = []

        async def post(path: str, body: bytes | None) -> None:
            async with semaphore, session.post(f"{url}/crm/v8{path}", data=body, headers=headers) as resp:
                await resp.read()
            statuses.append(resp.status)

        with cpu_timer() as t:
            async with asyncio.timeout(deadline):
                await asyncio.gather(*(post(p.path, p.body) for p in planned))
    return {
        "linked": sum(len(p.items) for p, status in zip(planned, statuses, strict=True) if status == 200),
        "items": len(items),
        "client_requests": len(statuses),
        "throttled_client": statuses.count(429),
        **t,
    }


def run(options: Options) -> list[Row]:
    contacts, total = (50, 1_000) if options.quick else (500, 10_000)
    uneven = uneven_split(total, contacts, seed=229)
    splits = {"even": [total // contacts] * contacts, "uneven": uneven}
    # Each client links its own fresh emails: (group, kind, library), the group's sizes from its split.
    clients = [(split, "ours", None) for split in splits] + [("naive", "naive", None)]
    clients += [(f"{split}-raw", "raw", None) for split in splits]
    if options.baseline_tree is not None:
        clients += [(f"{split}{AT_BASELINE}", "ours", options.baseline_tree) for split in splits]
    groups = {
        group: splits[group.split("-")[0].split("@")[0]] if group != "naive" else uneven for group, _, _ in clients
    }
    results: dict[str, dict[str, Any]] = {}
    with FakeProcess(latency_ms=LATENCY_MS, concurrency_cap=CAP, seed={"kind": "link", "groups": groups}) as fake:
        for group, kind, library in clients:
            minimum = sum(math.ceil(n / 20) for n in groups[group])
            fake.reset()
            spec = fake.worker_spec(kind=kind, group=group, seed_file=fake.seed_file, deadline=total / RATE * 6 + 10)
            result = run_worker("bench_link", spec, timeout=total / RATE * 6 + 60, library=library)
            stats = fake.stats()
            result["server_requests"] = stats["requests"].get("link_emails", 0) + stats["requests"].get("link_email", 0)
            result["throttled_server"] = stats["throttled_429"]
            result["minimum_requests"] = minimum
            # Whole rounds of 20 calls in flight: minimum / 400 req/s, rounded up to a round.
            result["ideal_wall"] = math.ceil(minimum / CAP) * LATENCY_MS / 1000
            results[group] = result
    data: dict[str, Any] = {
        "emails": total, "contacts": contacts, "uneven_sizes": uneven, "baseline": options.baseline, "runs": results,
    }  # fmt: skip
    errors = [r["error"] for r in results.values() if "error" in r]
    if errors:
        return [Row("3. link emails to deals", "n/a", "n/a", "n/a", "", "ERROR: " + errors[0], data)]
    return [_row(split, results, total, contacts, options, data) for split in splits]


def _row(
    split: str, results: dict[str, dict[str, Any]], total: int, contacts: int, options: Options, data: dict[str, Any]
) -> Row:
    r, raw, naive = results[split], results[f"{split}-raw"], results["naive"]
    requests_ratio = r["server_requests"] / r["minimum_requests"]
    wall_ratio = r["wall"] / r["ideal_wall"]
    ok = r["linked"] == r["items"] and requests_ratio <= 1.0 and wall_ratio <= GOAL_WALL
    before = results.get(f"{split}{AT_BASELINE}")
    before_cell = (
        f"; before ({options.baseline}): {before['wall']:.2f} s = {before['wall'] / before['ideal_wall']:.2f}x ideal"
        if before is not None
        else ""
    )
    return Row(
        f"3. link {total:,} emails over {contacts} contacts, {split} split (cap 20 / 50 ms)",
        f"{r['server_requests']} requests (min {r['minimum_requests']}), {r['wall']:.2f} s "
        f"(ideal {r['ideal_wall']:.2f} s), {r['linked']}/{r['items']} linked" + before_cell,
        f"raw aiohttp, bodies built beforehand (semaphore 20): {raw['wall']:.2f} s = "
        f"{raw['wall'] / raw['ideal_wall']:.2f}x ideal; one request per email (semaphore 20): "
        f"{naive['server_requests']} requests, {naive['wall']:.2f} s",
        f"requests {requests_ratio:.2f}x min, wall {wall_ratio:.2f}x ideal, wall {r['wall'] / raw['wall']:.2f}x raw; "
        f"{naive['wall'] / r['wall']:.1f}x faster than naive",
        f"requests = min, wall <= {GOAL_WALL:.2f}x ideal",
        "PASS" if ok else "FAIL",
        {"benchmark": "link", **data} if split == "uneven" else {"benchmark": "link", "see": "uneven row"},
    )
