"""The benchmarks' chart reads the table's own ratios onto one "times better than the peer" scale, and draws it.

No timing here: the input is the recorded JSON, and the checks are on what the picture says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.chart import RESULTS, advantages, backfill_points, draw


def _row(figure: str, ratio: str) -> dict[str, object]:
    return {"figure": figure, "ratio": ratio, "data": {}}


def test_a_lower_is_better_ratio_is_turned_over_and_a_higher_one_kept() -> None:
    bars = advantages(
        [
            _row("4. decode a Get Emails page (10 emails)", "0.32x (3.2x faster)"),
            _row("2. throughput, 3000 requests, cap 20 / 50 ms", "0.99x semaphore, 1.34x naive"),
            _row(
                "3. link 10,000 emails over 500 contacts, even split (cap 20)",
                "requests 1.00x min, wall 1.29x ideal; 16.8x faster than naive",
            ),
        ]
    )
    by_label = {bar.label: bar.times_better for bar in bars}
    assert by_label["4. decode a Get Emails page: time vs stdlib json"] == pytest.approx(1 / 0.32)
    assert by_label["2. throughput: req/s vs semaphore"] == pytest.approx(0.99)
    assert by_label["2. throughput: req/s vs naive gather"] == pytest.approx(1.34)
    assert by_label["3. link 10,000 emails, even split: wall vs the ideal"] == pytest.approx(1 / 1.29)
    assert by_label["3. link 10,000 emails, even split: wall vs one request per email"] == pytest.approx(16.8)


def test_a_row_without_a_number_draws_no_bar() -> None:
    assert advantages([_row("2. throughput, clients set to 25", "3000/3000 vs 254/3000 requests succeeded")]) == []
    assert advantages([_row("9. a figure nobody knows", "2.0x")]) == []


def test_the_recorded_run_draws_a_png_with_every_figure(tmp_path: Path) -> None:
    recorded = json.loads((RESULTS / "recorded.json").read_text())
    figures = {bar.label.split(".", 1)[0] for bar in advantages(recorded["rows"])}
    assert figures == {"1", "2", "3", "4", "5", "6", "7"}
    assert [point["items"] for point in backfill_points(recorded["rows"])] == [10_000, 100_000, 1_000_000]

    out = draw(recorded, tmp_path / "chart.png")
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
