"""``python -m benchmarks.chart [RESULTS.json] [OUT.png]``: one picture of where we stand against each peer.

Left: every figure's ratio turned into one scale, "how many times better than the peer" (1.0 = level, to the
right of it we win), on a log axis, so a CPU ratio where lower wins and a throughput ratio where higher wins
read the same way. Right: figure 7's items per second and peak RSS against the item count, ours beside the
baseline CLI it ran with.

The numbers come from the JSON that ``python -m benchmarks`` writes (``--out``); nothing is measured here.
matplotlib is the optional ``bench`` extra (``pip install -e '.[bench]'``): without it the benchmarks still run
and say that no chart was drawn.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

#: figure number -> the ratios its row prints: (pattern whose group is the number, what it compares, whether a
#: higher number is better for us). The row's ``ratio`` string is the one the table shows, so the picture can
#: never say something the table does not.
RATIOS: dict[str, list[tuple[str, str, bool]]] = {
    "1": [
        (r"^([\d.]+)x \(vs", "CPU/request vs raw aiohttp+msgspec", False),
        (r"^([\d.]+)x page\(\)", "fan-out CPU/request vs page()", False),
    ],
    "2": [(r"([\d.]+)x semaphore", "req/s vs semaphore", True), (r"([\d.]+)x naive", "req/s vs naive gather", True)],
    "3": [
        (r"wall ([\d.]+)x ideal", "wall vs the ideal", False),
        (r"wall ([\d.]+)x raw", "wall vs raw aiohttp, bodies prebuilt", False),
        (r"([\d.]+)x faster than naive", "wall vs one request per email", True),
    ],
    "4": [(r"^([\d.]+)x", "time vs stdlib json", False)],
    "5": [(r"wall ([\d.]+)x", "wall vs official SDK", False), (r"CPU/request ([\d.]+)x", "CPU vs official SDK", False)],
    "6": [(r"^([\d.]+)x", "RSS growth vs a list", False)],
    "7": [
        (r"([\d.]+)x the baseline", "items per CPU s vs the older CLI", True),
        (r"= ([\d.]+)x the library alone", "CPU/item vs the library alone", False),
    ],
}


@dataclass(frozen=True, slots=True)
class Advantage:
    """One bar: how many times better than the peer we are on one measure (1.0 = level)."""

    label: str
    times_better: float


def advantages(rows: list[dict[str, Any]]) -> list[Advantage]:
    """Every ratio the rows print, as "times better than the peer"; rows without a number are left out."""
    bars: list[Advantage] = []
    for row in rows:
        number = row["figure"].split(".", 1)[0]
        title = _short_title(row["figure"])
        for pattern, what, higher_is_better in RATIOS.get(number, []):
            found = re.search(pattern, row["ratio"])
            if found is None or float(found.group(1)) <= 0:
                continue
            ratio = float(found.group(1))
            bars.append(Advantage(f"{title}: {what}", ratio if higher_is_better else 1 / ratio))
    return bars


def _short_title(figure: str) -> str:
    """ "3. link 10,000 emails over 500 contacts, even split (cap ...)" -> "3. link 10,000 emails, even split"."""
    title = figure.split(" (", 1)[0]
    parts = [part.strip() for part in title.split(", ")]  # ", " so 10,000 stays whole
    head = parts[0].split(" over ")[0]
    tail = [part for part in parts[1:] if "split" in part or "clients" in part]
    return ", ".join([head, *tail])[:60]


def backfill_points(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Figure 7's rows as (items, ours, baseline) points, in item order."""
    points = [row["data"] for row in rows if row["figure"].startswith("7.") and "items_per_s" in row["data"]]
    return sorted(points, key=lambda data: data["items"])


def draw(results: dict[str, Any], out: Path) -> Path:
    """Draw the picture of ``results`` (the benchmarks' JSON) into the PNG file ``out``."""
    import matplotlib

    matplotlib.use("Agg")  # no screen here, and none wanted: the file is the product
    import matplotlib.pyplot as plt

    bars = advantages(results["rows"])
    points = backfill_points(results["rows"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 0.45 * max(len(bars), 8) + 1.5), width_ratios=(3, 2))
    _draw_advantages(left, bars)
    if points:
        _draw_backfill(right, points)
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "figure 7 not in this run", ha="center", va="center")
    fig.suptitle(f"zcrm_async benchmarks, {results.get('when', '?')} ({results.get('command', '')})", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def _draw_advantages(ax: Any, bars: list[Advantage]) -> None:
    labels = [bar.label for bar in bars][::-1]
    values = [bar.times_better for bar in bars][::-1]
    colours = [_colour(value) for value in values]
    ax.barh(labels, values, color=colours)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=1)
    for y, value in enumerate(values):
        ax.text(value, y, f" {value:.2f}x", va="center", fontsize=8)
    ax.set_xlabel("times better than the peer (log scale; 1 = level, right of it we win; grey: within 5%)")
    ax.tick_params(axis="y", labelsize=8)


def _colour(times_better: float) -> str:
    """Green where we win, red where we lose, grey within 5% (these VMs vary 15-30% run to run)."""
    if abs(times_better - 1) <= 0.05:
        return "tab:gray"
    return "tab:green" if times_better > 1 else "tab:red"


def _draw_backfill(ax: Any, points: list[dict[str, Any]]) -> None:
    items = [point["items"] for point in points]
    ax.plot(items, [point["items_per_s"] for point in points], "o-", color="tab:blue", label="ours, items/s")
    if all("baseline" in point for point in points):
        baseline = [point["baseline"]["items_per_s"] for point in points]
        ax.plot(items, baseline, "o--", color="tab:gray", label="baseline CLI, items/s")
    ax.set_xscale("log")
    ax.set_xlabel("items in the backfill (figure 7)")
    ax.set_ylabel("items per second")
    rss = ax.twinx()
    rss.plot(items, [point["peak_rss_mib"] for point in points], "s-", color="tab:orange", label="ours, peak RSS")
    if all("baseline" in point for point in points):
        baseline_rss = [point["baseline"]["peak_rss_mib"] for point in points]
        rss.plot(items, baseline_rss, "s--", color="tab:brown", label="baseline CLI, peak RSS")
    rss.set_yscale("log")
    rss.set_ylabel("peak RSS (MiB, log scale)")
    handles = ax.get_legend_handles_labels()[0] + rss.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize=8)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else RESULTS / "recorded.json"
    out = Path(args[1]) if len(args) > 1 else source.with_suffix(".png")
    print(f"[bench] chart {draw(json.loads(source.read_text()), out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
