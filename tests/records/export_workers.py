"""Run in fresh processes by tests/records/test_records_export.py, so the export's peak RSS is its own.

``python tests/records/export_workers.py serve N [LEADS]``: FakeZoho on 127.0.0.1 with N contacts (and LEADS leads),
its Bulk Read jobs done at once; prints its URL, the accounts URL and the credentials as one JSON line, then serves
until stdin closes.

``python tests/records/export_workers.py export ARGS...``: ``zcrm-async records export ARGS...`` in this process
(``main()``), then one JSON line: ``code`` and ``peak_kib`` (``VmHWM``: ``ru_maxrss`` would carry pytest's size
over through fork and exec).
"""

from __future__ import annotations

import json
import sys


def peak_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def serve(count: int, leads: int = 0) -> None:
    from zcrm_async.testing import FakeConfig, FakeZoho

    fake = FakeZoho(FakeConfig(bulk_job_seconds=0.0))
    for i in range(count):
        fake.world.add_record("Contacts", f"Contact {i}", email=f"c{i}@example.org")
    for i in range(leads):
        fake.world.add_record("Leads", f"Lead {i}", email=f"l{i}@example.org")
    config = fake.config
    with fake.serving_in_thread():
        print(json.dumps({"url": fake.url, "accounts_url": fake.accounts_url, "client_id": config.client_id,
                          "client_secret": config.client_secret, "refresh_token": config.refresh_token}), flush=True)
        sys.stdin.read()


def export(argv: list[str]) -> None:
    from zcrm_async.cli import main

    code = main(["records", "export", *argv])
    print(json.dumps({"code": code, "peak_kib": peak_kib()}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(*(int(arg) for arg in sys.argv[2:4]))
    else:
        export(sys.argv[2:])
