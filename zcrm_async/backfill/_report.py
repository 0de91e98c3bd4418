"""What a run leaves for people and for the next run: the per-item report, and the rows that failed as a file the
same backfill reads as it is (fix them, run it on its own)."""

from __future__ import annotations

import csv
from pathlib import Path

from ._journal import Journal

__all__ = ["Report", "failed_rows_path", "write_failed_rows", "write_report"]


class Report:
    """The per-item report (one JSON object per input item, in line order), written as results arrive.

    Every line below the journal's first unfinished one is final, so ``catch_up`` writes up to there as the run
    passes it; ``close`` writes the rest, items a stopped run left pending or in flight included. A resumed run
    writes the whole report again, earlier runs' items first. Nothing is held but a window of the journal.
    """

    __slots__ = ("_journal", "_last", "_out", "path", "written")

    def __init__(self, path: Path, journal: Journal) -> None:
        self.path = path
        self._journal = journal
        self._out = path.open("w", encoding="utf-8")
        self._last = 0
        self.written = 0

    def catch_up(self) -> None:
        """Write every item not yet written whose outcome is final and all of whose predecessors are."""
        self._write(self._journal.first_open_line())

    def close(self) -> int:
        """Write what is left and close the file; returns how many items the report holds."""
        try:
            self._write(None)
        finally:
            self._out.close()
        return self.written

    def _write(self, before_line: int | None) -> None:
        out = self._out
        for line, record in self._journal.report_lines(self._last, before_line):
            out.write(record)
            out.write("\n")
            self._last = line
            self.written += 1
        out.flush()


def write_report(path: Path, journal: Journal) -> int:
    """The whole report at once; returns how many items were written."""
    return Report(path, journal).close()


def failed_rows_path(beside: Path) -> Path:
    """Where the failed rows go beside a report or a journal: ``report.jsonl`` -> ``report.failed.csv``."""
    return beside.with_name(f"{beside.stem}.failed.csv")


def write_failed_rows(path: Path, journal: Journal) -> int:
    """The rows that are done and did not succeed, as a CSV of the layout's fields (header first), which the
    same backfill reads as it is; returns how many. No file is left when none failed."""
    fields = journal.layout.fields
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        for item in journal.unsuccessful():
            writer.writerow([item.fields.get(name, "") for name in fields])
            count += 1
    if not count:
        path.unlink()
    return count
