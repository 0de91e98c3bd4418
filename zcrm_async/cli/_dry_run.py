"""``backfill ... --dry-run``: the file's rows checked and the requests a run would send shown, nothing sent.

The file's journal is read as the run would read it: rows done there are not planned again, and a journal the
run would refuse (an edited file, another operation's) is refused here too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ._failures import UsageError
from ._input import InputError, open_input, read_input
from ._operations import Operation
from ._output import Output, counted
from ._plan import show_plan
from ._summary import done_lines

__all__ = ["DEALS_MODULE_ID_SHOWN", "SHOWN_BAD_ROWS", "dry_run", "show_bad_rows"]

SHOWN_BAD_ROWS = 20
#: What a dry run shows for the Deals module's id it has not looked up (a dry run sends nothing).
DEALS_MODULE_ID_SHOWN = "<the Deals module's id>"


def dry_run(
    output: Output, operation: Operation, path: Path, journal: Path, deals_module_id: str | None, *,
    retry_failed: bool = False,
) -> int:  # fmt: skip
    try:
        source = read_input(path, operation)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    bad = source.bad
    show_bad_rows(output, len(bad), [(row.line, row.error or "") for row in bad[:SHOWN_BAD_ROWS]])
    good = source.good
    done = _done_in_journal(operation, path, journal, retry_failed)
    if done:
        good = [row for row in good if row.line not in done]
        output.result(f"the journal holds {counted(len(done), 'row')} as done: a run sends none of them again")
    module_id = deals_module_id
    if module_id is None and operation.name != "unlink":
        module_id = DEALS_MODULE_ID_SHOWN  # the run learns it before sending (Get Modules)
        output.result(
            f"linked_record.module.id is shown as {DEALS_MODULE_ID_SHOWN}: the run looks the Deals module's id up"
            " once (Get Modules) before sending, or takes --deals-module-id"
        )
    show_plan(output, operation, good, module_id)
    return 0 if not bad else 1


def _done_in_journal(operation: Operation, path: Path, journal: Path, retry_failed: bool) -> set[int]:
    """The lines the file's journal holds as done; a journal the real run would refuse is refused here too."""
    try:
        identity = open_input(path, operation)
        done = done_lines(journal, identity.sha256, operation.name, retry_failed=retry_failed)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        if str(exc) == "changed":
            raise UsageError(
                f"{path} changed since its journal {journal} was made: the run would refuse it; put the "
                "file back, or pass a new journal (--journal NEW)"
            ) from None
        raise UsageError(f"{journal} {exc}; pass --journal NEW") from None
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read {journal} as a journal: {exc}") from None
    return done or set()


def show_bad_rows(output: Output, count: int, first: list[tuple[int, str]]) -> None:
    if not count:
        return
    output.failure(f"{counted(count, 'bad row')} (not sent; counted as failed):")
    for _, error in first:
        output.failure(f"  {error}")
    if count > len(first):
        output.failure(f"  ... and {count - len(first)} more (see --report)")
