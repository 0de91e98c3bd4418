"""An export of 250,000 records by Bulk Read (two jobs: 200,000 and 50,000) stays under 150 MiB of RSS.

The export runs in a fresh process (``export_memory_worker.py``) that reports its own peak RSS (``VmHWM``), against
a FakeZoho served from a thread of this process. The rows are streamed from the downloaded ZIP, so the process
holds one batch of rows at a time whatever the export's size; the files' bytes never pass through its memory
(they are streamed to disk). Bounded in time by the subprocess timeout. Measured: a peak of about 43 MiB, 2 MiB
above the started client; the control, holding every row, grows by over 50 MiB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zcrm_async.testing import FakeConfig, FakeZoho

WORKER = Path(__file__).with_name("export_memory_worker.py")
RECORDS = 250_000
BOUND_KIB = 150 * 1024

pytestmark = pytest.mark.slow


def export(mode: str) -> tuple[dict[str, int], FakeZoho]:
    config = FakeConfig(bulk_job_seconds=0.0, null_share=0.0)
    fake = FakeZoho(config)
    for i in range(RECORDS):
        fake.world.add_record("Contacts", f"Contact {i}", email=f"c{i}@example.net")
    command = [sys.executable, str(WORKER), mode]
    with fake.serving_in_thread() as url:
        command += [url, config.client_id, config.client_secret, config.refresh_token]
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures: dict[str, int] = json.loads(done.stdout)
    assert figures["rows"] == RECORDS and figures["ordered"], figures
    assert fake.stats.requests["create_bulk_read"] == 2  # 200,000 a job: more_records was followed
    return figures, fake


def test_an_export_of_250000_records_stays_under_150_mib() -> None:
    figures, _ = export("stream")
    assert figures["peak_kib"] < BOUND_KIB, figures


def test_the_measure_sees_rows_held() -> None:
    figures, _ = export("hold")
    assert figures["peak_kib"] - figures["start_kib"] > 50 * 1024, figures
