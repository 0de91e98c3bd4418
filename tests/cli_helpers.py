"""Helpers for the CLI tests: a small world in a FakeZoho, input files, and running ``main`` off the loop."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import anyio

from zcrm_async.cli import main
from zcrm_async.testing import FakeZoho

SECRET = "s3cr3t-DO-NOT-PRINT-9f8e7d"
REFRESH = "refresh-DO-NOT-PRINT-1a2b3c"
FIELDS = ["contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name"]


def connection_args(fake: FakeZoho) -> list[str]:
    cfg = fake.config
    return [
        "--api-domain", fake.url, "--accounts-url", fake.url, "--client-id", cfg.client_id,
        "--client-secret", cfg.client_secret, "--refresh-token", cfg.refresh_token,
    ]  # fmt: skip


def make_world(fake: FakeZoho, contacts: int = 3, emails: int = 4) -> list[dict[str, str]]:
    """Contacts with one deal each and unlinked (sent) emails; returns link rows for every email."""
    owner = fake.add_user("Owner One")
    rows = []
    for c in range(contacts):
        contact = fake.add_contact(f"Contact {c}", f"c{c}@example.net")
        deal = fake.add_deal(f"Deal {c}", [contact])
        for _ in range(emails):
            message_id = fake.add_email(contact, owner, received=False)
            rows.append(
                {"contact_id": contact, "message_id": message_id, "deal_id": deal, "deal_name": f"Deal {c}",
                 "owner_id": owner, "owner_name": "Owner One"}
            )  # fmt: skip
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, str]], fields: Sequence[str] = FIELDS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def read_report(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def run_cli(argv: list[str]) -> int:
    """``main(argv)`` in a worker thread: it runs its own event loop while the fake serves on the test's."""
    return await anyio.to_thread.run_sync(main, argv)
