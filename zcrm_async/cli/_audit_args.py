"""The ``audit`` subcommand's arguments, kept beside the parser's other commands but out of its way."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._connect import Connection
from ._help import examples
from ._output import Output

__all__ = ["add_audit_parser", "audit_from"]

_HELP = "find emails on the wrong deal by a rule and write the backfill plan that fixes them (changes nothing)"


def add_audit_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``audit`` to the subcommands (``commands`` is argparse's subparsers action)."""
    audit = commands.add_parser("audit", parents=[common], help=_HELP, description=_HELP, epilog=examples("audit"))
    audit.add_argument(
        "--rule", required=True,
        help="prediction, no-closed-lost, single-open-deal, a CSV mapping (message_id or thread_id -> deal_id), "
        "or module:function",
    )  # fmt: skip
    audit.add_argument("--contacts", type=Path, help="file of contact ids, one per line (default: contacts with deals)")
    audit.add_argument("--plan", type=Path, help="write the plan here and one backfill file per action beside it")
    audit.add_argument("--report", type=Path, help="write one JSON line per email judged here")
    audit.add_argument(
        "--closed-won", action="append", metavar="STAGE",
        help="a stage that counts as closed-won, instead of the Stage picklist's forecast type (repeat for more)",
    )  # fmt: skip
    audit.add_argument(
        "--closed-lost", action="append", metavar="STAGE",
        help="a stage that counts as closed-lost (repeat for more; with --closed-won too, metadata is not read)",
    )  # fmt: skip
    audit.add_argument("--concurrency", type=int, help="contacts read at once (default: the budget's concurrency)")


def audit_from(args: argparse.Namespace, connection: Connection, output: Output) -> Callable[[], Awaitable[int]]:
    from ._audit import AuditOptions, audit_command

    def stages(values: list[str] | None) -> tuple[str, ...] | None:
        return None if values is None else tuple(value.strip() for value in values if value.strip())

    options = AuditOptions(
        rule=args.rule, contacts=args.contacts, plan=args.plan, report=args.report,
        closed_won=stages(args.closed_won), closed_lost=stages(args.closed_lost), concurrency=args.concurrency,
    )  # fmt: skip
    return lambda: audit_command(options, connection, output)
