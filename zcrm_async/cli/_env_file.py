"""The env file ``auth exchange`` writes (``KEY=value`` lines a shell can source), read back without a shell.

The file is parsed, never executed: a value is one shell word, read by ``shlex`` in POSIX mode, so
``KEY=plain``, ``KEY='single quoted'`` and ``KEY="double \\"quoted\\""`` give what a shell would, and ``$(...)``,
backquotes or ``$VAR`` stay the characters they are. Blank lines, ``# comments`` and a leading ``export`` are
allowed. Only the variables the CLI reads are taken; anything else in the file is left alone.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ._connect import UsageError

__all__ = ["read_env_file"]

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def read_env_file(path: Path, *, keys: frozenset[str]) -> dict[str, str]:
    """The ``keys`` the file assigns; an absent file assigns nothing.

    Raises:
        UsageError: the file cannot be read, or a line the CLI would use is not one shell word.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the env file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ASSIGNMENT.match(line)
        if match is None or match.group(1) not in keys:
            continue
        name, raw = match.groups()
        try:
            words = shlex.split(raw, comments=True, posix=True)
        except ValueError as exc:  # an unclosed quote
            raise UsageError(f"{path} line {number}: {name}'s value cannot be read ({exc})") from None
        if len(words) > 1:
            raise UsageError(f"{path} line {number}: {name}'s value is several words; quote it")
        values[name] = words[0] if words else ""
    return values
