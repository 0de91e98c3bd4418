"""How ``--help`` reads: paragraphs wrapped at the terminal's width without breaking a word (a scope string stays
one piece to copy), indented lines (examples) kept as written, and each command's examples in its epilog.

A mistyped flag is answered with the usage of the command it was given to, and the nearest flags it has.
"""

from __future__ import annotations

import argparse
import difflib
import textwrap
from collections.abc import Mapping

__all__ = ["EXAMPLES", "HelpFormatter", "examples", "leaf_parser", "unknown_flags_message"]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that no word is broken and indented lines stay as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                lines.append(indent + line)
            else:
                lines.append(
                    textwrap.fill(
                        line, width, initial_indent=indent, subsequent_indent=indent,
                        break_long_words=False, break_on_hyphens=False,
                    )
                )  # fmt: skip
        return "\n".join(lines)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


#: Examples shown under each command's --help, by its name as typed.
EXAMPLES: Mapping[str, tuple[str, ...]] = {
    "backfill link": (
        "zcrm-async backfill link links.csv --dry-run",
        "zcrm-async backfill link links.csv --report report.jsonl",
        "zcrm-async backfill link links.csv --retry-failed   # the rows Zoho refused, once their cause is fixed",
    ),
    "backfill unlink": ("zcrm-async backfill unlink plan.unlink.csv",),
    "backfill relink": (
        "zcrm-async backfill relink plan.relink.csv --report moved.jsonl",
        "zcrm-async backfill relink plan.relink.csv --retry-failed   # NOT_ALLOWED rows, once on their deal",
    ),
    "emails export": (
        "zcrm-async emails export --out emails.jsonl",
        "zcrm-async emails export --ids contact-ids.txt --out emails.jsonl",
        "zcrm-async emails export --module Leads --ids lead-ids.txt --out emails.jsonl",
    ),
    "records import": (
        "zcrm-async records import Contacts people.csv --upsert --duplicate-check-fields Email --report people.jsonl",
        "zcrm-async records import Deals changes.csv --update",
    ),
    "records export": (
        "zcrm-async records export Contacts --fields Last_Name,Email --out contacts.csv",
        "zcrm-async records export Deals --fields Deal_Name,Stage --where \"Stage = Closed Lost\" --out lost.jsonl",
    ),
    "audit": (
        "zcrm-async audit --rule no-closed-lost --plan plan.csv",
        "zcrm-async audit --rule moves.csv --contacts contact-ids.txt --plan plan.csv --report judged.jsonl",
    ),
    "auth exchange": ("zcrm-async auth exchange --dc eu --client-id 1000.XXXX --client-secret ... --code 1000.yyyy",),
    "auth check": ("zcrm-async auth check",),
    "journal failed": (
        "zcrm-async journal failed links.csv.journal.sqlite   # writes links.csv.journal.failed.csv",
        "zcrm-async journal failed links.csv.journal.sqlite --out to-fix.csv",
    ),
    "demo": ("zcrm-async demo", "zcrm-async demo --contacts 200 --workdir demo-run"),
    "fake-server": (
        "zcrm-async fake-server --seed-contacts 20 --write-sample sample.csv",
        "zcrm-async fake-server --seed-misfiled 50 --port 8080",
    ),
}


def examples(command: str) -> str:
    """The epilog of a command's --help: its examples, one a line."""
    return "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[command])


def leaf_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command's own parser for the parsed ``args``: the one whose usage a mistake should show."""
    current = parser
    while True:
        actions = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions:
            return current
        chosen = getattr(args, actions[0].dest, None)
        if chosen is None or chosen not in actions[0].choices:
            return current
        current = actions[0].choices[chosen]


def unknown_flags_message(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """"unrecognized arguments: ..." with the nearest flags ``parser`` has, for a flag mistyped."""
    known = [option for action in parser._actions for option in action.option_strings]
    hints = []
    for extra in extras:
        flag = extra.partition("=")[0]
        if flag.startswith("-"):
            near = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
            if near:
                hints.append(f"{flag}: did you mean {near[0]}?")
    return f"unrecognized arguments: {' '.join(extras)}" + (f" ({'; '.join(hints)})" if hints else "")
