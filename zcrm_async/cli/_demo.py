"""``zcrm-async demo``: the main job end to end, offline: a relink backfill against an in-process FakeZoho.

The fake world has contacts with two deals each; Deal Prediction linked the received mail to the newer deal.
The "truth" file says which deal each email belongs to, so some emails are already right, some are linked to
the wrong deal (some of them moved there on purpose), and the sent ones are not linked at all. The real
``backfill relink`` code path runs on that file, then the fake's world is checked against it. Then the audit
(``_demo_audit``): ``audit`` finds the wrong links in a second fake org, the backfills of its plan fix them, and a
second audit finds nothing.
"""

from __future__ import annotations

import dataclasses
import json
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..testing import FakeConfig, FakeZoho
from ._backfill import BackfillOptions, backfill_command, default_journal
from ._connect import Connection
from ._demo_audit import audit_demo
from ._failures import UsageError
from ._files import check_writable
from ._operations import RELINK
from ._output import Output

__all__ = ["DemoOptions", "demo"]

DEALS_PER_CONTACT = 2
EMAILS_PER_CONTACT = 3
MOVED_SHARE = 0.1  # of the correctly predicted links, moved to the contact's other deal


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    contacts: int = 1000
    latency: float = 0.04
    concurrency_cap: int = 20
    workdir: Path | None = None
    seed: int = 7


async def demo(options: DemoOptions, connection: Connection, output: Output) -> int:
    """Seed, write the truth file, run the real backfill, verify; returns the exit code."""
    if options.workdir is not None:
        _make_workdir(options.workdir)
    config = FakeConfig(latency=options.latency, concurrency_cap=options.concurrency_cap, seed=options.seed)
    fake = FakeZoho(config)
    rows = _seed(fake, options)
    # The fake serves from its own thread and event loop, so the client's loop carries only the client's work,
    # as it would against Zoho; the world is inspected only before and after the backfill.
    with _workdir(options.workdir) as workdir, fake.serving_in_thread():
        path = workdir / "demo-relink.jsonl"
        _fresh(path, default_journal(path), workdir / "demo-report.jsonl")
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        _describe(output, fake, rows, options, path)
        local = dataclasses.replace(
            connection, client_id=config.client_id, client_secret=config.client_secret,
            refresh_token=config.refresh_token, api_domain=fake.url, accounts_url=fake.url, redis_url=None,
        )  # fmt: skip
        started = time.monotonic()
        code = await backfill_command(
            BackfillOptions(
                operation=RELINK, path=path, report=workdir / "demo-report.jsonl",
                ideal_rps=options.concurrency_cap / options.latency if options.latency > 0 else None,
            ),
            local,
            output,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        wrong = [row for row in rows if fake.link_of(row["message_id"]) != row["deal_id"]]
        stats = fake.stats
        output.result(
            f"fake server: {sum(stats.requests.values())} requests, {stats.throttled_429} answered 429, "
            f"at most {stats.max_in_flight} in flight (cap {options.concurrency_cap})"
        )
        output.result(
            f"verified against the fake's world: {len(rows) - len(wrong)}/{len(rows)} emails linked to the deal "
            f"the input asks ({'OK' if not wrong else 'MISMATCH'}); backfill took {elapsed:.1f} s"
        )
        audited = await audit_demo(
            connection, output, workdir, contacts=options.contacts, latency=options.latency,
            concurrency_cap=options.concurrency_cap, seed=options.seed,
        )  # fmt: skip
    if options.workdir is None:  # a new temporary folder each run: say where, and how to remove it
        size = sum(path.stat().st_size for path in workdir.rglob("*") if path.is_file())
        output.result(f"the demo's files ({size / 1e6:.1f} MB) are kept in {workdir}; remove them: rm -r {workdir}")
    return max(code if not wrong else 1, audited)


def _seed(fake: FakeZoho, options: DemoOptions) -> list[dict[str, str]]:
    """Seed the world, decide each email's true deal, and put some links on the wrong deal on purpose."""
    summary = fake.seed_world(
        contacts=options.contacts, deals_per_contact=DEALS_PER_CONTACT,
        emails_per_contact=EMAILS_PER_CONTACT, users=2, seed=options.seed,
    )  # fmt: skip
    rng = random.Random(options.seed)
    rows: list[dict[str, str]] = []
    for c, contact_id in enumerate(summary.contact_ids):
        deals = summary.deal_ids[c * DEALS_PER_CONTACT : (c + 1) * DEALS_PER_CONTACT]
        owner_id = summary.user_ids[c % len(summary.user_ids)]
        for message_id in summary.message_ids[c * EMAILS_PER_CONTACT : (c + 1) * EMAILS_PER_CONTACT]:
            deal_id = rng.choice(deals)
            linked = fake.link_of(message_id)
            if linked == deal_id and rng.random() < MOVED_SHARE:
                fake.world.link_directly(message_id, next(d for d in deals if d != deal_id))
            rows.append(
                {
                    "contact_id": contact_id, "message_id": message_id, "deal_id": deal_id,
                    "deal_name": f"Deal {c + 1}.{deals.index(deal_id) + 1}", "owner_id": owner_id,
                    "owner_name": f"User {c % len(summary.user_ids) + 1}",
                }
            )  # fmt: skip
    return rows


def _describe(output: Output, fake: FakeZoho, rows: list[dict[str, str]], options: DemoOptions, path: Path) -> None:
    right = sum(1 for row in rows if fake.link_of(row["message_id"]) == row["deal_id"])
    unlinked = sum(1 for row in rows if fake.link_of(row["message_id"]) is None)
    output.result(
        f"FakeZoho at {fake.url}: {options.contacts} contacts, {options.contacts * DEALS_PER_CONTACT} deals, "
        f"{len(rows)} emails; latency {options.latency * 1000:.0f} ms, cap {options.concurrency_cap} in flight"
    )
    output.result(
        f"before: {right} emails on the right deal, {len(rows) - right - unlinked} on the wrong deal, "
        f"{unlinked} not linked"
    )
    output.result(f"input: {path}")


@contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    """The given folder, or a new temporary one; kept after the run either way, since the demo prints the paths
    of its input, report and journal for a person to open."""
    if path is not None:
        yield path
        return
    yield Path(tempfile.mkdtemp(prefix="zcrm-demo-"))


def _make_workdir(path: Path) -> None:
    """The folder, made before anything runs, with its files checked writable.

    Raises:
        UsageError: it is a file, or it cannot be made or written.
    """
    if path.exists() and not path.is_dir():
        raise UsageError(f"cannot use --workdir {path}: it is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot make --workdir {path}: {exc.strerror or exc}") from None
    for name in ("demo-relink.jsonl", "demo-report.jsonl"):
        check_writable(path / name, "--workdir", folder_too=True)


def _fresh(*paths: Path) -> None:
    """A new fake world each time: an old journal of the same file would wrongly resume."""
    for path in paths:
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
