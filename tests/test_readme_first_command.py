"""The README's first command (a fresh virtualenv, the package with its ``cli`` extra, then ``zcrm-async demo``)
runs as written, in a copy of the repository, and ends in the demo's verified summary.

The command line is taken from the README verbatim and run by bash. Only its environment is arranged so that it
never leaves 127.0.0.1: pip is told not to use an index (``PIP_NO_INDEX``) and finds the dependencies already
installed on ``PYTHONPATH`` (this test run's own site-packages, whose Python the new virtualenv shares), and builds
the project with the hatchling found there (``PIP_NO_BUILD_ISOLATION``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_readme import ROOT, blocks

pytestmark = pytest.mark.slow


def first_command() -> str:
    (setup, *_) = [block for block in blocks("bash") if "# 1. the main job" in block]
    lines = setup.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# 1.")))
    return lines[start + 1]


def repository_copy(into: Path) -> Path:
    """What a fresh clone holds: the files git tracks, without this checkout's .venv or caches."""
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def offline_environment(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # python3: this run's Python
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip reads this flag inverted: "0" turns isolation off
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        HOME=str(home),
        TMPDIR=str(home),
    )
    return env


def test_the_first_command_is_the_one_this_test_runs() -> None:
    assert first_command() == (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[cli]' && .venv/bin/zcrm-async demo"
    )


def test_the_first_command_runs_the_demo_to_its_verified_summary(tmp_path: Path) -> None:
    clone = repository_copy(tmp_path / "clone")
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        ["bash", "-c", first_command()], cwd=clone, env=offline_environment(home),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (clone / ".venv" / "bin" / "zcrm-async").exists()  # the command's own virtualenv ran the demo
    assert re.search(r"relink: \d+/\d+", done.stderr)  # the progress (plain lines: stderr is not a terminal)
    assert "Successfully installed zcrm_async" in done.stdout or "Successfully installed zcrm-async" in done.stdout
    assert re.search(r"verified against the fake's world: (\d+)/\1 emails linked .*\(OK\)", done.stdout)
