"""Everything the CLI shows goes through ``Output``: one place that knows the secrets and blanks them out, and
that shows text as plain text.

Much of what is shown comes from elsewhere (a server's codes and messages, names and ids from the input file),
so nothing is read as rich markup (``[bold]``) or as an emoji code (``:boom:``), and control characters are
shown escaped (``\\x1b``): a message cannot restyle, clear or retitle the user's terminal.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Output", "counted"]

_MASK = "***"
#: Secrets shorter than this are masked only where they stand alone (see ``Output.redact``).
_SHORT = 4
#: C0 controls, DEL and C1 controls; a line keeps its line breaks and tabs, a table cell does not.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_IN_CELL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """ "1 item", "2 items", "0 items" (``plural`` for a noun that does not just take an s)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _plain_console(file: TextIO) -> Console:
    return Console(file=file, highlight=False, soft_wrap=True, markup=False, emoji=False)


class Output:
    """Results (answers, summaries, tables) to stdout; progress, diagnostics and problems to stderr, so stdout can be
    piped or kept; every string is redacted first."""

    __slots__ = ("_data", "_secrets", "console", "err", "quiet")

    def __init__(
        self, *, quiet: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None,
        data: TextIO | None = None,
    ) -> None:  # fmt: skip
        self.quiet = quiet
        self.console = _plain_console(stdout or sys.stdout)
        self.err = _plain_console(stderr or sys.stderr)
        #: Where ``summary`` writes the machine-readable summary (--json); None: not asked for.
        self._data = data
        self._secrets: list[str] = []

    @property
    def wants_data(self) -> bool:
        return self._data is not None

    def summary(self, value: Mapping[str, object]) -> None:
        """One JSON object on its own line (--json), redacted like every other line."""
        if self._data is not None:
            self._data.write(self.redact(json.dumps(value, sort_keys=True)) + "\n")
            self._data.flush()

    def add_secrets(self, *values: str | None) -> None:
        """Values never to show (client secret, refresh token, ...), however they got into a message."""
        for value in values:
            if value and value not in self._secrets:
                self._secrets.append(value)
        self._secrets.sort(key=len, reverse=True)  # longest first, so a secret inside another goes too

    def redact(self, text: str, keep: Sequence[str] = ()) -> str:
        """``text`` with every secret masked, except inside the ``keep`` phrases (the program's own words)."""
        phrases = [phrase for phrase in keep if phrase]
        if phrases:
            pattern = "(" + "|".join(re.escape(phrase) for phrase in phrases) + ")"
            parts = re.split(pattern, text)  # odd positions are the kept phrases
            return "".join(part if index % 2 else self.redact(part) for index, part in enumerate(parts))
        for secret in self._secrets:
            if len(secret) >= _SHORT:
                text = text.replace(secret, _MASK)
            else:
                # A short secret ("ab") is masked where it stands alone ("--refresh_token ab", ":ab@host"), not
                # inside a longer word or number, where it is a coincidence: masking every "1" would hide counts.
                text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", _MASK, text)
        return text

    def shown(self, text: str, keep: Sequence[str] = ()) -> str:
        """``text`` as it may be shown on a line: redacted, control characters escaped."""
        return _CONTROL_IN_LINE.sub(_escaped, self.redact(text, keep))

    def _cell(self, value: object) -> Text:
        return Text(_CONTROL_IN_CELL.sub(_escaped, self.redact(str(value))))

    @property
    def is_terminal(self) -> bool:
        """Whether progress (on stderr) goes to a terminal, where it is drawn as a bar."""
        return self.err.is_terminal

    def line(self, text: str) -> None:
        """Progress or a diagnostic, on stderr (suppressed by --quiet)."""
        if not self.quiet:
            self.err.print(self.shown(text))

    def result(self, text: str) -> None:
        """A line that is the command's answer: printed even with --quiet."""
        self.console.print(self.shown(text))

    def error(self, text: str, keep: Sequence[str] = ()) -> None:
        self.err.print(self.shown(text, keep))

    def failure(self, text: str) -> None:
        """A line naming what failed, on stderr, in red on a terminal (the style is ours, never the text's)."""
        self.err.print(Text(self.shown(text), style="red"))

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        table = Table(title=self._cell(title), title_justify="left")
        for index, column in enumerate(columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*(self._cell(cell) for cell in row))
        self.console.print(table)
