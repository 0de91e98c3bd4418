"""The audit's output: a plan the backfill reads as it is, a tally, and a JSONL line per email judged.

``--plan plan.csv`` writes ``plan.csv`` (every planned change, with its ``action``) and beside it one file per
backfill: ``plan.relink.csv`` (emails to move: ``backfill relink``), ``plan.link.csv`` (unlinked emails to link:
``backfill link``, which refuses an email linked meanwhile instead of moving it) and ``plan.unlink.csv``
(``backfill unlink``). Each row carries the backfill's columns, then the email's current deal and the reason;
the backfill ignores the extra columns. A file with no rows is not written, and one left by an earlier audit
is removed, so applying every file present applies this plan and nothing older. The files are put in place only
when the audit succeeds: one that fails leaves the previous plan whole. ``--plan plan.jsonl`` (or ``.json``)
writes the same rows as JSON Lines, as the backfill reads a file so named.
"""

from __future__ import annotations

import collections
import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Protocol

import msgspec

from ._model import Action, Judgement

__all__ = ["BACKFILL_OF", "PlanWriter", "ReportWriter", "Tally", "plan_files"]

#: The backfill that applies each planned action.
BACKFILL_OF: Mapping[Action, str] = {"move": "relink", "link": "link", "unlink": "unlink"}
_LINK_COLUMNS = ["contact_id", "message_id", "deal_id", "deal_name", "owner_id", "owner_name"]
_UNLINK_COLUMNS = ["contact_id", "message_id", "owner_id", "owner_name"]
_CONTEXT = ["current_deal_id", "current_deal_name", "current_stage", "reason"]
_ROWS: Mapping[str, list[str]] = {
    "relink": _LINK_COLUMNS + _CONTEXT,
    "link": _LINK_COLUMNS + _CONTEXT,
    "unlink": _UNLINK_COLUMNS + _CONTEXT,
}
_ALL = ["action", *_LINK_COLUMNS, *_CONTEXT]
#: A plan named so is written as JSON Lines (the backfill reads a file named so as JSON Lines); any other, CSV.
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


class _RowWriter(Protocol):
    def writerow(self, row: Mapping[str, str], /) -> object: ...


def plan_files(plan: Path) -> dict[str, Path]:
    """The per-backfill files beside ``plan``: ``plan.csv`` -> ``plan.relink.csv``, ``plan.link.csv``, ..."""
    return {kind: plan.with_name(f"{plan.stem}.{kind}{plan.suffix or '.csv'}") for kind in ("relink", "link", "unlink")}


class Tally:
    """Counts of the emails judged, by action."""

    __slots__ = ("counts", "read")

    def __init__(self) -> None:
        self.read = 0
        self.counts: collections.Counter[Action] = collections.Counter()

    def add(self, judgement: Judgement) -> None:
        self.read += 1
        self.counts[judgement.action] += 1

    @property
    def changes(self) -> int:
        return self.counts["move"] + self.counts["link"] + self.counts["unlink"]

    def rows(self) -> list[tuple[str, int]]:
        """The summary table: emails read, on the right deal, to move, to link, to unlink, left alone."""
        return [
            ("emails read", self.read),
            ("on the right deal", self.counts["right"]),
            ("to move", self.counts["move"]),
            ("to link", self.counts["link"]),
            ("to unlink", self.counts["unlink"]),
            ("left alone by the rule", self.counts["leave"]),
        ]


def _row(judgement: Judgement) -> dict[str, str]:
    email, target, current = judgement.email, judgement.target, judgement.email.linked
    return {
        "action": judgement.action,
        "contact_id": email.contact_id,
        "message_id": email.message_id,
        "deal_id": target.id if target else "",
        "deal_name": (target.name or "") if target else "",
        "owner_id": email.owner_id or "",
        "owner_name": email.owner_name or "",
        "current_deal_id": current.id if current else "",
        "current_deal_name": (current.name or "") if current else "",
        "current_stage": (current.stage or "") if current else "",
        "reason": judgement.reason,
    }


class _JsonLines:
    """The plan's rows as JSON Lines, for a plan named ``.jsonl`` or ``.json`` (what the backfill reads so)."""

    __slots__ = ("_columns", "_handle")

    def __init__(self, handle: IO[str], columns: list[str]) -> None:
        self._handle = handle
        self._columns = columns

    def writerow(self, row: Mapping[str, str]) -> None:
        self._handle.write(json.dumps({name: row.get(name, "") for name in self._columns}) + "\n")


class PlanWriter:
    """Writes planned changes as they are judged; per-backfill files are opened at their first row.

    Every file is written beside its name under a temporary one and put in place only when the audit ends well
    (the ``with`` block exits without an exception): a failed audit leaves the previous plan as it was.
    """

    __slots__ = ("_files", "_jsonl", "_path", "_temporary", "_writers", "written")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._files = plan_files(path)
        self._jsonl = path.suffix.lower() in JSONL_SUFFIXES
        self._temporary: dict[Path, IO[str]] = {}  # final path -> the temporary file being written for it
        self._writers: dict[str, _RowWriter] = {}
        #: Rows written, by backfill kind.
        self.written: collections.Counter[str] = collections.Counter()

    def __enter__(self) -> PlanWriter:
        self._writers["all"] = self._open(self._path, _ALL)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for handle in self._temporary.values():
            handle.close()
        if kind is not None:  # the audit failed: the plan that was there stays
            for handle in self._temporary.values():
                Path(handle.name).unlink(missing_ok=True)
            return
        for final, handle in self._temporary.items():
            os.replace(handle.name, final)
        for stale in self._files.values():  # a file an earlier audit left, this one has no rows for
            if stale not in self._temporary:
                stale.unlink(missing_ok=True)

    def _open(self, path: Path, columns: list[str]) -> _RowWriter:
        # Beside the final name (os.replace stays on one file system), with the permissions a plain open gives.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        handle = temporary.open("w", newline="", encoding="utf-8")
        self._temporary[path] = handle
        if self._jsonl:
            return _JsonLines(handle, columns)
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        return writer

    def add(self, judgement: Judgement) -> None:
        kind = BACKFILL_OF.get(judgement.action)
        if kind is None:
            return
        row = _row(judgement)
        writer = self._writers.get(kind)
        if writer is None:
            writer = self._writers[kind] = self._open(self._files[kind], _ROWS[kind])
        writer.writerow(row)
        self._writers["all"].writerow(row)
        self.written[kind] += 1

    def files(self) -> dict[str, Path]:
        """The per-backfill files written, by kind, in the order to apply them (unlink, relink, link)."""
        return {kind: self._files[kind] for kind in ("unlink", "relink", "link") if self.written[kind]}


class ReportWriter:
    """One JSON line per email judged: the email, its current deal, the action, the target and the reason."""

    __slots__ = ("_encode", "_handle")

    def __init__(self, path: Path) -> None:
        self._handle = path.open("wb")
        self._encode = msgspec.json.Encoder().encode

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._handle.close()

    def add(self, judgement: Judgement) -> None:
        row: dict[str, Any] = _row(judgement)
        row["subject"] = judgement.email.subject
        row["sent"] = judgement.email.sent
        row["current_outcome"] = judgement.email.linked.outcome if judgement.email.linked else None
        self._handle.write(self._encode(row) + b"\n")
