"""Helpers for the first-day tests (issue 19): the real CLI as a subprocess against a FakeZoho in a thread."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from zcrm_async.testing import FakeZoho

TIMEOUT = 60


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zcrm_async.cli", *args], capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "COLUMNS": "200", **(env or {})}, cwd=cwd,
    )  # fmt: skip


def pointed_at(url: str, fake: FakeZoho) -> list[str]:
    cfg = fake.config
    return ["--api-domain", url, "--accounts-url", url, "--client-id", cfg.client_id,
            "--client-secret", cfg.client_secret, "--refresh-token", cfg.refresh_token]  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a mistake prints on stderr: no traceback, nothing else."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def asked_nothing(fake: FakeZoho) -> bool:
    """No request reached the fake: neither the token endpoint nor the API."""
    return sum(fake.stats.requests.values()) == 0 and fake.stats.token_refreshes == 0
