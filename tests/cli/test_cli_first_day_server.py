"""fake-server tells a first-day user what it seeded (issue 19, point 11)."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.first_day import TIMEOUT


def _announced(*flags: str) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "zcrm_async.cli", "fake-server", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith(("audit them with", "the world is empty", "owner ids")):
                break  # the last line it prints before serving
        return lines
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


def test_seed_misfiled_is_not_announced_as_an_empty_world() -> None:
    lines = _announced("--seed-misfiled", "5")
    assert "seeded 5 contacts with 25 emails, some on the wrong deal" in lines
    assert not any("the world is empty" in line for line in lines), lines
    (ids,) = [line for line in lines if line.startswith("misfiled contact ids: ")]
    assert len(ids.removeprefix("misfiled contact ids: ").split(", ")) == 3
    assert any(line.startswith("audit them with:  zcrm-async audit --rule no-closed-lost") for line in lines)


def test_an_empty_world_still_says_so() -> None:
    lines = _announced()
    assert any("the world is empty" in line for line in lines), lines
