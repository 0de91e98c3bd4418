"""Figure 7 as an A/B: the CLI and the library alone, alternating, in one run.

``python -m benchmarks.ab_backfill [--rounds 5] [--items 100000] [--out PATH]``

Figure 7's goal (the CLI's CPU per item at most 2.0x the library's own, ``link_deal_stream`` over the same rows)
is a ratio of two runs that each vary by 10-15% on these VMs, even quiet: one pair cannot tell 2.1x from 1.9x.
Each round runs the CLI (``zcrm-async backfill link``, its journal and report, as figure 7 runs it) and the
library alone on rows of their own (every email unlinked), in an order that alternates from round to round; each
round's ratio is the CLI's CPU over the library's in that round, and the summary gives the median and the spread.
Each run is its own process, the fake another; the load average before each is recorded.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .bench_backfill_scale import CAP, CLI_TIMEOUT, EMAILS_PER_CONTACT, _cli, _write_input
from .bench_harness import ROOT as REPO
from .bench_harness import FakeProcess, compile_tree, median, run_worker

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "figure7-ab.json"
GOAL = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_backfill", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of both (at least 5 for a 5%% call)")
    parser.add_argument("--items", type=int, default=100_000, help="rows a run (20 emails a contact)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.items < EMAILS_PER_CONTACT or args.rounds < 1:
        parser.error(f"--items must be at least {EMAILS_PER_CONTACT} and --rounds at least 1")
    compile_tree(REPO)
    rounds = _rounds(args.rounds, args.items)
    ratios = [r["cli"]["cpu"] / r["library"]["cpu"] for r in rounds]
    result = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.ab_backfill " + " ".join(argv if argv is not None else sys.argv[1:]),
        "items": args.items, "cpus": os.cpu_count(), "rounds": rounds, "ratios": ratios,
        "ratio_median": median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios), "goal": GOAL,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(f"[ab] wrote {args.out}", file=sys.stderr)
    return 0


def _rounds(count: int, items: int) -> list[dict[str, Any]]:
    contacts = items // EMAILS_PER_CONTACT
    groups = {f"{kind}{i}": [contacts, EMAILS_PER_CONTACT] for i in range(count) for kind in ("cli", "library")}
    rounds: list[dict[str, Any]] = []
    with FakeProcess(latency_ms=0, concurrency_cap=CAP, seed={"kind": "link", "even": groups}, timeout=900) as fake:
        for i in range(count):
            this: dict[str, Any] = {}
            for kind in ("cli", "library") if i % 2 == 0 else ("library", "cli"):
                load = os.getloadavg()[0]
                this[kind] = _one(fake, kind, f"{kind}{i}") | {"load_average": load}
                print(f"[ab] round {i + 1}/{count} {kind}: {this[kind]['cpu'] / items * 1e6:.1f} us CPU an item,"
                      f" load {load:.2f}", file=sys.stderr, flush=True)  # fmt: skip
            rounds.append(this)
    return rounds


def _one(fake: FakeProcess, kind: str, group: str) -> dict[str, Any]:
    """One run of ``kind`` over its own rows: CPU (the whole process's, from its start), wall, links sent."""
    with tempfile.TemporaryDirectory(prefix="zcrm-ab-") as tmp:
        path = _write_input(Path(tmp) / "links.csv", fake.seed["groups"][group], fake.seed["owner_id"])
        fake.reset()
        if kind == "cli":
            result = _cli(path, path.with_name("report.jsonl"), fake.url, None)
        else:
            result = run_worker("bench_backfill_scale", fake.worker_spec(input=str(path)), timeout=CLI_TIMEOUT)
            if "error" in result:
                raise RuntimeError(result["error"])
        result["link_requests"] = fake.stats()["requests"].get("link_emails", 0)
    return {"cpu": result["cpu"], "wall": result["wall"], "link_requests": result["link_requests"]}


def report(result: dict[str, Any]) -> str:
    items = result["items"]
    lines = [f"figure 7 A/B, {items:,} items, {len(result['rounds'])} rounds", "",
             "| round | CLI us CPU/item | library us CPU/item | CLI / library |", "|---:|---:|---:|---:|"]  # fmt: skip
    for i, (r, ratio) in enumerate(zip(result["rounds"], result["ratios"], strict=True)):
        cli, library = (r[kind]["cpu"] / items * 1e6 for kind in ("cli", "library"))
        lines.append(f"| {i + 1} | {cli:.1f} | {library:.1f} | {ratio:.2f}x |")
    verdict = "met" if result["ratio_median"] <= GOAL else "not met"
    spread = f"{result['ratio_min']:.2f}-{result['ratio_max']:.2f}x"
    lines.append(f"\nmedian {result['ratio_median']:.2f}x (spread {spread}); goal <= {GOAL:.1f}x: {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
