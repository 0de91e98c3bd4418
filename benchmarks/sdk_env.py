"""The official SDK's own environment: ``benchmarks/.sdk-venv``, created on first use, never the project's venv.

``sdk_python()`` makes the venv with ``python -m venv`` and ``pip install -r benchmarks/requirements-sdk.txt``
(once; again only when the requirements change) and returns its python. ``python -m benchmarks.sdk_env`` does
just that. The directory is not to be committed (.gitignore).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .bench_harness import CLIENT_CPU, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

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


def run_sdk_worker(script: str, url: str, spec: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """``benchmarks/{script}`` run by the SDK venv's python against the fake at ``url``, with ``spec`` and the
    benchmarks' OAuth client and client core as JSON; its last line of output, read as JSON, or ``{"error": why}``
    when the venv cannot be made or the worker fails or overruns ``timeout`` seconds."""
    try:
        python = sdk_python()
    except SDKUnavailable as exc:
        return {"error": f"the SDK could not be installed: {exc}"}
    client = {"url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    argv = [str(python), str(HERE / script), json.dumps({**client, "cpu": CLIENT_CPU, **spec})]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the SDK worker did not finish in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        return {"error": f"the SDK worker failed (exit {done.returncode}): {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


if __name__ == "__main__":
    print(sdk_python())
