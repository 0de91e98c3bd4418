"""``python -m benchmarks [--quick] [--full] [--baseline REF] [--out PATH] [--only NAME ...]``: run the
benchmarks, print the table.

The table (one row per figure: ours, the peer, the ratio, the goal, a verdict) goes to stdout, progress to stderr,
and every measured number to the JSON file ``--out`` (default ``benchmarks/results/latest.json``), with a PNG
chart of the figures beside it (``benchmarks/chart.py``; the optional ``bench`` extra).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from .bench_harness import Options, Row, baseline_tree

#: name -> module, in the order of the figures.
BENCHMARKS = {
    "cpu": "bench_cpu",
    "throughput": "bench_throughput",
    "link": "bench_link",
    "codec": "bench_codec",
    "sdk": "bench_sdk",
    "memory": "bench_memory",
    "backfill": "bench_backfill_scale",
    "export": "bench_export",
    "record_writes": "bench_record_writes",
    "sdk_records": "bench_sdk_records",
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def table(rows: list[Row]) -> str:
    """The rows as a markdown table."""
    head = ["figure", "ours", "peer", "ratio", "goal", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row.figure, row.ours, row.peer, row.ratio, row.goal, row.verdict]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (well under 90 s)")
    parser.add_argument("--full", action="store_true", help="the long runs too (a 1,000,000-item backfill)")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="a git commit whose library (and figure 7's CLI) every figure runs beside ours, in the same run",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON results")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    args = parser.parse_args(argv)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    with baseline_tree(args.baseline) as (tree, why_not):
        if args.baseline and tree is None:
            print(f"[bench] {why_not}", file=sys.stderr)
        options = Options(quick=args.quick, full=args.full, baseline=args.baseline, baseline_tree=tree)
        rows, timings, seconds = _run_all(names, options)
    print(table(rows))
    result = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "baseline": args.baseline,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "seconds": {"total": seconds, **timings},
        "rows": [
            {
                "figure": row.figure,
                "ours": row.ours,
                "peer": row.peer,
                "ratio": row.ratio,
                "goal": row.goal,
                "verdict": row.verdict,
                "data": row.data,
            }
            for row in rows
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"[bench] wrote {args.out}", file=sys.stderr)
    write_chart(result, args.out.with_suffix(".png"))
    return 0


def _run_all(names: list[str], options: Options) -> tuple[list[Row], dict[str, float], float]:
    """Every named benchmark's rows, the seconds each took, and the seconds in all."""
    rows: list[Row] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        module: Any = importlib.import_module(f"benchmarks.{BENCHMARKS[name]}")
        try:
            new_rows: list[Row] = module.run(options)
        except Exception as exc:  # a broken benchmark is a row that says so, not a lost run
            new_rows = [Row(name, "n/a", "n/a", "n/a", "n/a", f"ERROR: {type(exc).__name__}: {exc}")]
        for row in new_rows:
            row.data.setdefault("benchmark", name)
        rows.extend(new_rows)
        timings[name] = time.perf_counter() - t0
        print(f"[bench] {name} done in {timings[name]:.1f} s", file=sys.stderr, flush=True)
    return rows, timings, time.perf_counter() - started


def write_chart(result: dict[str, Any], out: Path) -> None:
    """The picture beside the JSON, when the optional ``bench`` extra (matplotlib) is installed."""
    try:
        from .chart import draw

        print(f"[bench] chart {draw(result, out)}", file=sys.stderr)
    except ImportError:
        print("[bench] no chart drawn: matplotlib is missing (pip install -e '.[bench]')", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
