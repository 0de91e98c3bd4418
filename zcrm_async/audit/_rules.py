"""The rules: pure functions from (a contact's deals, one email) to where the email belongs.

Built in, by name:

- ``prediction``: Deal Prediction (Kaizen #229) applied to today's deals: the contact's only open deal; with
  several open deals, the most recently modified; with none, no deal. Open means neither closed-won nor
  closed-lost, so a contact whose deals are all closed gets no link ("no valid open deals": not linked). Zoho
  predicts for received email only, so sent email is left alone.
- ``no-closed-lost``: an email on a closed-lost deal moves to the contact's single open deal, else is unlinked;
  every other email is left alone.
- ``single-open-deal``: an unlinked email of a contact with exactly one open deal is linked to it; every other
  email is left alone.

A user's rule is ``module:function`` (any callable taking ``(ContactDeals, EmailView)``), or a CSV mapping with a
header ``message_id`` and/or ``thread_id``, ``deal_id``, and optionally ``reason``: an empty ``deal_id`` means "on
no deal"; emails the file does not name are left alone; a message_id row wins over its thread's row.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._model import ContactDeals, Deal, EmailView, Rule, Verdict

__all__ = [
    "RULES",
    "MappingRule",
    "RuleError",
    "load_rule",
    "no_closed_lost",
    "prediction",
    "single_open_deal",
]


class RuleError(ValueError):
    """A rule cannot be loaded: an unknown name, an unimportable function, an unreadable mapping."""


def _name(deal: Deal) -> str:
    return f"{deal.name or 'deal'} ({deal.id}, {deal.stage or 'stage unknown'})"


def prediction(contact: ContactDeals, email: EmailView) -> Verdict:
    """Kaizen #229's Deal Prediction on today's deals."""
    if email.sent is True:
        return Verdict.leave_it("sent email: Deal Prediction links received email only")
    open_deals = contact.open
    if len(open_deals) == 1:
        return Verdict.belongs_on(open_deals[0], f"prediction: the contact's only open deal {_name(open_deals[0])}")
    if open_deals:
        return Verdict.belongs_on(
            open_deals[0], f"prediction: the most recently modified of {len(open_deals)} open deals, "
            f"{_name(open_deals[0])}",
        )  # fmt: skip
    return Verdict.no_deal("prediction: the contact has no open deal")


def no_closed_lost(contact: ContactDeals, email: EmailView) -> Verdict:
    """No email on a closed-lost deal: to the single open deal, else off the deal."""
    linked = email.linked
    if linked is None or not linked.closed_lost:
        return Verdict.leave_it("not on a closed-lost deal")
    single = contact.single_open
    if single is not None:
        return Verdict.belongs_on(single, f"on closed-lost {_name(linked)}; the contact's only open deal")
    count = len(contact.open)
    why = "no open deal" if count == 0 else f"{count} open deals, none to choose"
    return Verdict.no_deal(f"on closed-lost {_name(linked)}; the contact has {why}")


def single_open_deal(contact: ContactDeals, email: EmailView) -> Verdict:
    """Link an unlinked email of a contact with exactly one open deal to that deal."""
    if email.linked is not None:
        return Verdict.leave_it("already linked")
    single = contact.single_open
    if single is None:
        return Verdict.leave_it(f"unlinked, but the contact has {len(contact.open)} open deals, not one")
    return Verdict.belongs_on(single, f"unlinked; the contact's only open deal {_name(single)}")


RULES: dict[str, Rule] = {
    "prediction": prediction,
    "no-closed-lost": no_closed_lost,
    "single-open-deal": single_open_deal,
}


class MappingRule:
    """A rule from a table: message id (or thread id) -> deal id, or no deal; emails it does not name are left."""

    __slots__ = ("by_message", "by_thread", "source")

    def __init__(
        self,
        by_message: dict[str, tuple[str | None, str]],
        by_thread: dict[str, tuple[str | None, str]] | None = None,
        source: str = "mapping",
    ) -> None:
        #: message id -> (deal id or None, reason)
        self.by_message = by_message
        self.by_thread = by_thread or {}
        self.source = source

    @property
    def needs_thread_ids(self) -> bool:
        """Whether judging an email needs its thread id (Get Emails of a Record may not list it)."""
        return bool(self.by_thread)

    def __call__(self, contact: ContactDeals, email: EmailView) -> Verdict:
        entry = self.by_message.get(email.message_id)
        key = "message_id"
        if entry is None and email.thread_id is not None:
            entry, key = self.by_thread.get(email.thread_id), "thread_id"
        if entry is None:
            return Verdict.leave_it(f"not in {self.source}")
        deal_id, reason = entry
        why = reason or f"{self.source} by {key}"
        if deal_id is None:
            return Verdict.no_deal(why)
        return Verdict.belongs_on(contact.get(deal_id) or Deal(id=deal_id), why)

    @classmethod
    def from_csv(cls, path: Path) -> MappingRule:
        """Read ``message_id``/``thread_id``, ``deal_id`` [, ``reason``] rows; a repeated key is refused."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise RuleError(f"cannot read {path}: {exc.strerror or exc}") from None
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [name.strip() for name in reader.fieldnames or []]
        if "deal_id" not in header or not {"message_id", "thread_id"} & set(header):
            raise RuleError(f"{path}: the header needs deal_id and message_id or thread_id; it has {header}")
        reader.fieldnames = header
        tables: dict[str, dict[str, tuple[str | None, str]]] = {"message_id": {}, "thread_id": {}}
        for row in reader:
            _add_row(tables, row, f"{path} line {reader.line_num}")
        return cls(tables["message_id"], tables["thread_id"], source=path.name)


def _add_row(tables: dict[str, dict[str, tuple[str | None, str]]], row: dict[str, Any], where: str) -> None:
    values = {key: (value or "").strip() for key, value in row.items() if isinstance(key, str)}
    keys = [key for key in ("message_id", "thread_id") if values.get(key)]
    if len(keys) != 1:
        raise RuleError(f"{where}: give exactly one of message_id or thread_id")
    key = keys[0]
    deal_id = values.get("deal_id") or None
    if deal_id is not None and not deal_id.isdigit():
        raise RuleError(f"{where}: deal_id must be a numeric Zoho id or empty (no deal), got {deal_id!r}")
    if values[key] in tables[key]:
        raise RuleError(f"{where}: {key} {values[key]} is mapped twice")
    tables[key][values[key]] = (deal_id, values.get("reason", ""))


def load_rule(spec: str) -> Rule:
    """A rule by built-in name, CSV mapping path, or ``module:function``.

    Raises:
        RuleError: nothing by that name, an unreadable or malformed mapping, or an import that fails.
    """
    if spec in RULES:
        return RULES[spec]
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.is_file():
        return MappingRule.from_csv(path)
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise RuleError(f"unknown rule {spec!r}: use one of {sorted(RULES)}, a CSV mapping, or module:function")
    return _import_rule(module_name, attribute)


def _import_rule(module_name: str, attribute: str) -> Rule:
    # The console script does not put the working directory on sys.path; a user's rules.py usually lives there.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuleError(f"cannot import {module_name!r} for the rule: {exc}") from None
    function: Callable[..., Any] | None = getattr(module, attribute, None)
    if not callable(function):
        raise RuleError(f"{module_name}:{attribute} is not a callable in {module_name}")
    return function
