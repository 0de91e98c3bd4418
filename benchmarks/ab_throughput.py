"""Figure 2 as an A/B: ours, ours at a baseline commit and the semaphore client, alternating, in one run.

``python -m benchmarks.ab_throughput [--pairs 5] [--baseline REF] [--server fake|plain] [--requests 3000]
[--out PATH]``

Figure 2's goal (ours >= 0.99x a hand-written aiohttp ``Semaphore(20)`` client, 0 x 429) is a 1% margin, and
these VMs vary by 15-30% from one run to the next. A single pair of runs cannot show 1%, so each round runs
every client once against the same server (20 in flight, 50 ms a call, 3,000 reads, the way the independent
server was set up), in an order that rotates from round to round; each round's ratio is ours / the semaphore of
that round, and the summary gives the median and the spread of those ratios. Each client is its own process, the
server another (``--server plain``: ``plain_server.PlainZoho``, not FakeZoho), and the load average before each
client is recorded: the machine's two cores are shared.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

from .bench_harness import FakeProcess, baseline_tree, median, run_worker
from .bench_throughput import CAP, IDEAL, LATENCY_MS

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "figure2-ab.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_throughput", description=__doc__)
    parser.add_argument("--pairs", type=int, default=5, help="rounds of every client (at least 5 for a 1%% call)")
    parser.add_argument("--baseline", metavar="REF", help="a commit whose library runs beside ours in each round")
    parser.add_argument("--server", choices=("fake", "plain"), default="fake")
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with baseline_tree(args.baseline) as (tree, why_not):
        if args.baseline and tree is None:
            print(f"[ab] {why_not}", file=sys.stderr)
            return 2
        clients: list[tuple[str, str, Path | None]] = [("ours", "ours", None), ("semaphore", "semaphore", None)]
        if tree is not None:
            clients.insert(1, (f"ours@{args.baseline}", "ours", tree))
        rounds = _rounds(clients, args.pairs, args.requests, args.server)
    result = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.ab_throughput " + " ".join(argv if argv is not None else sys.argv[1:]),
        "server": args.server, "requests": args.requests, "cap": CAP, "latency_ms": LATENCY_MS, "ideal_rate": IDEAL,
        "cpus": os.cpu_count(), "rounds": rounds, "summary": summary(rounds, [name for name, _, _ in clients]),
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(report(result))
    print(f"[ab] wrote {args.out}", file=sys.stderr)
    return 0


def _rounds(clients: list[tuple[str, str, Path | None]], pairs: int, n: int, server: str) -> list[dict[str, Any]]:
    rounds: list[dict[str, Any]] = []
    seed = {"kind": "world", "contacts": 50, "emails_per_contact": 10}
    with FakeProcess(latency_ms=LATENCY_MS, concurrency_cap=CAP, seed=seed, server=server) as fake:
        for i in range(pairs):
            order = clients[i % len(clients) :] + clients[: i % len(clients)]
            this: dict[str, Any] = {}
            for name, kind, library in order:
                fake.reset()
                load = os.getloadavg()[0]
                spec = fake.worker_spec(kind=kind, contact_ids=fake.seed["contact_ids"], n=n, deadline=n / IDEAL * 8)
                result = run_worker("bench_throughput", spec, timeout=n / IDEAL * 8 + 60, library=library)
                stats = fake.stats()
                result |= {"load_average": load, "throttled_server": stats["throttled_429"],
                           "max_in_flight": stats["max_in_flight"]}  # fmt: skip
                if "error" not in result:
                    result["rate"] = result["ok"] / result["wall"]
                    result["cpu_us_per_request"] = result["cpu"] / max(1, result["ok"]) * 1e6
                this[name] = result
                rate, throttled = result.get("rate", 0.0), result.get("throttled_server")
                print(f"[ab] round {i + 1}/{pairs} {name}: {rate:.1f} req/s, {throttled} x 429, load {load:.2f}",
                      file=sys.stderr, flush=True)  # fmt: skip
            rounds.append(this)
    return rounds


def summary(rounds: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Per client: the median rate and CPU per request, and each round's ratio to that round's semaphore."""
    out: dict[str, Any] = {}
    for name in names:
        done = [r[name] for r in rounds if "rate" in r.get(name, {}) and "rate" in r.get("semaphore", {})]
        ratios = [r[name]["rate"] / r["semaphore"]["rate"] for r in rounds if r.get(name, {}).get("rate")]
        out[name] = {
            "rate_median": median([d["rate"] for d in done]),
            "cpu_us_per_request_median": median([d["cpu_us_per_request"] for d in done]),
            "ratio_to_semaphore": ratios,
            "ratio_median": median(ratios),
            "ratio_min": min(ratios, default=float("nan")),
            "throttled_server": sum(d["throttled_server"] for d in done),
            "failed": sum(d.get("failed", 0) for d in done),
            "load_average": [d["load_average"] for d in done],
        }
    return out


def report(result: dict[str, Any]) -> str:
    lines = [f"figure 2 A/B, {result['server']} server, {result['requests']} reads, cap {CAP}, {LATENCY_MS} ms, "
             f"{len(result['rounds'])} rounds", "", "| client | req/s (median) | CPU us/request | vs semaphore, "
             "each round | median | 429s |", "|---|---:|---:|---|---:|---:|"]  # fmt: skip
    for name, s in result["summary"].items():
        each = ", ".join(f"{r:.3f}" for r in s["ratio_to_semaphore"])
        lines.append(f"| {name} | {s['rate_median']:.1f} | {s['cpu_us_per_request_median']:.0f} | {each} | "
                     f"{s['ratio_median']:.3f} | {s['throttled_server']} |")  # fmt: skip
    loads = [load for s in result["summary"].values() for load in s["load_average"]]
    lines.append(f"\nload average (1 min) before each client: {min(loads):.2f}-{max(loads):.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
