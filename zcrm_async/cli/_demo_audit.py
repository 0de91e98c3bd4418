"""The demo's second part: an audit finds the wrong links, the backfills of its plan fix them, a second audit
finds nothing.

A fresh FakeZoho holds contacts whose mail sits on closed-lost deals, waits unlinked beside one open deal, or was
moved by hand off the deal Deal Prediction chose (``FakeZoho.seed_misfiled``). The rule is ``prediction``; the
fake's own Deal Prediction then checks every received email.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..audit import plan_files
from ..testing import FakeConfig, FakeZoho
from ._audit import AuditOptions, run_audit
from ._backfill import BackfillOptions, backfill_command, default_journal
from ._connect import Connection
from ._operations import OPERATIONS
from ._output import Output

__all__ = ["audit_demo"]

RULE = "prediction"
ORDER = ("unlink", "relink", "link")


async def audit_demo(
    connection: Connection, output: Output, workdir: Path, *, contacts: int, latency: float, concurrency_cap: int,
    seed: int,
) -> int:  # fmt: skip
    """Audit, apply the plan, audit again; returns the exit code (1 when the world is not what the rule asks)."""
    config = FakeConfig(latency=latency, concurrency_cap=concurrency_cap, seed=seed)
    fake = FakeZoho(config)
    seeded = fake.seed_misfiled(contacts=contacts, emails_per_contact=3, seed=seed)
    plan = workdir / "demo-audit-plan.csv"
    for path in plan_files(plan).values():
        _fresh(default_journal(path))
    output.result(f"\naudit: a new FakeZoho with {contacts} contacts, {len(seeded.message_ids)} emails; rule {RULE}")
    with fake.serving_in_thread():
        local = dataclasses.replace(
            connection, client_id=config.client_id, client_secret=config.client_secret,
            refresh_token=config.refresh_token, api_domain=fake.url, accounts_url=fake.url, redis_url=None,
        )  # fmt: skip
        first = await run_audit(AuditOptions(rule=RULE, plan=plan, report=workdir / "demo-audit.jsonl"), local, output)
        codes = [
            await backfill_command(BackfillOptions(operation=OPERATIONS[kind], path=path), local, output)
            for kind, path in plan_files(plan).items() if path.exists()
        ]  # fmt: skip
        again = await run_audit(AuditOptions(rule=RULE, plan=workdir / "demo-audit-again.csv"), local, output)
    wrong = [
        message_id for message_id in seeded.message_ids
        if not _sent(fake, message_id) and fake.link_of(message_id) != _predicted(fake, message_id)
    ]  # fmt: skip
    output.result(
        f"audit found {first.changes} changes; after the backfills a second audit finds {again.changes}; "
        f"the fake's Deal Prediction agrees with every received email: {'OK' if not wrong else f'{len(wrong)} differ'}"
    )
    return 0 if not wrong and again.changes == 0 and not any(codes) else 1


def _sent(fake: FakeZoho, message_id: str) -> bool:
    email = fake.email(message_id)
    return email is None or email.sent


def _predicted(fake: FakeZoho, message_id: str) -> str | None:
    email = fake.email(message_id)
    return fake.world.predict_deal(email.record_id) if email is not None and email.record_id else None


def _fresh(path: Path) -> None:
    """A new fake world each time: an old journal of the same plan file would wrongly resume."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
