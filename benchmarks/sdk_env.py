"""The official SDK's own environment: ``benchmarks/.sdk-venv``, created on first use, never the project's venv.

``sdk_python()`` makes the venv with ``python -m venv`` and ``pip install -r benchmarks/requirements-sdk.txt``
(once; again only when the requirements change) and returns its python. ``python -m benchmarks.sdk_env`` does
just that. The directory is not to be committed (.gitignore).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".sdk-venv"
REQUIREMENTS = HERE / "requirements-sdk.txt"
_MARKER = VENV / ".requirements.sha256"


class SDKUnavailable(RuntimeError):
    """The SDK's environment could not be made; the message says why."""


def sdk_python(*, timeout: float = 180.0) -> Path:
    """The SDK venv's python, creating the venv and installing the pinned SDK if needed."""
    python = VENV / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and _MARKER.exists() and _MARKER.read_text().strip() == wanted:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(VENV)],
        # Short network timeouts: without PyPI the row should say so quickly, not hang the run.
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "15",
            "--retries",
            "1",
            "-r",
            str(REQUIREMENTS),
        ],
    ]
    for argv in steps:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SDKUnavailable(f"{' '.join(argv[:4])} took more than {timeout:.0f} s") from None
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise SDKUnavailable(f"{' '.join(argv[:4])} failed: {tail}")
    _MARKER.write_text(wanted + "\n")
    return python


if __name__ == "__main__":
    print(sdk_python())
