"""A credentials file a POSIX shell can source (``set -a; . zoho.env; set +a``), and the reader of the same file.

Sourcing runs the file as shell code, so what is written must be inert whatever the values hold: every value is
written in single quotes (inside which a shell expands nothing: no ``$(...)``, no backticks, no ``$VAR``), a quote
in a value as ``'\\''``, and a value with a control character (a newline would end the assignment and start
another line of shell) is refused. Each line then sets exactly one variable, and nothing runs.

``read_env_file`` reads such a file without a shell: the quoting written here, double quotes without expansions,
and the unquoted ``KEY=value`` lines of older files when the value holds nothing a shell would read specially. A
line a shell would read otherwise is refused with its number, never guessed at.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._file_store import make_private_folders, unwritable_folder

__all__ = ["env_file_problem", "read_env_file", "write_env_file"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: An unquoted value a shell takes as it is: no spaces, quotes, expansions, globs or operators.
_PLAIN = re.compile(r"[A-Za-z0-9._:/@%+,=-]*")
#: One single-quoted piece, or an escaped quote between pieces (``'it'\''s'``).
_SINGLE = re.compile(r"'([^']*)'|\\(')")
#: Inside double quotes a shell expands ``$`` and backticks: only their escaped forms are plain text.
_DOUBLE = re.compile(r'"((?:[^"\\$`]|\\["\\$`])*)"')
#: The longest file read: a credentials file is a few hundred bytes.
MAX_BYTES = 64 * 1024


def quoted(value: str) -> str:
    """``value`` as a shell word that expands to exactly ``value``.

    Raises:
        ValueError: ``value`` holds a control character (a newline would start another line of shell).
    """
    if _CONTROL.search(value):
        raise ValueError("the value holds a control character (a line break, an escape): not written")
    return "'" + value.replace("'", "'\\''") + "'"


def write_env_file(
    path: str | os.PathLike[str], values: Mapping[str, str], *, comments: Sequence[str] = (), replace: bool = False
) -> Path:
    """Write ``KEY='value'`` lines, whole (a temporary file renamed), mode 0600, in folders created mode 0700.

    Args:
        path: the file.
        values: the variables, in the order to write them.
        comments: lines written first, each after ``# ``.
        replace: replace an existing file (else ``FileExistsError``).

    Raises:
        ValueError: a name is not a shell variable's, or a value or comment holds a control character.
        FileExistsError: the file exists and ``replace`` is false.
        OSError: the file cannot be written.
    """
    target = Path(path)
    text = _render(values, comments)
    if not replace and target.exists():
        raise FileExistsError(f"{target} exists")
    make_private_folders(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def env_file_problem(
    path: str | os.PathLike[str], values: Mapping[str, str], *, comments: Sequence[str] = (), replace: bool = False
) -> str | None:
    """Why ``write_env_file`` with these arguments would fail, checked without writing anything, or None.

    For a file that must be written after something that cannot be undone (a grant code is used once).
    """
    target = Path(path)
    try:
        _render(values, comments)
    except ValueError as exc:
        return str(exc)
    if target.is_dir():
        return f"{target} is a folder"
    if not replace and (target.exists() or target.is_symlink()):
        return f"{target} exists"
    return unwritable_folder(target.parent)


def _render(values: Mapping[str, str], comments: Sequence[str]) -> str:
    lines = []
    for comment in comments:
        if _CONTROL.search(comment):
            raise ValueError("a comment holds a control character: not written")
        lines.append(f"# {comment}")
    for name, value in values.items():
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a shell variable name")
        try:
            lines.append(f"{name}={quoted(value)}")
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return "\n".join(lines) + "\n"


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The variables an env file sets, read without a shell (blank lines and ``#`` comments skipped).

    Raises:
        ValueError: a line is not ``[export ]NAME=value`` with a value read the same by a shell and by this reader
            (the message gives the line's number, never its text: the line may hold a secret).
        OSError: the file cannot be read.
    """
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{path} is larger than {MAX_BYTES} bytes: not an env file")
    values: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, value = _parse_line(stripped.removeprefix("export ").lstrip(), number)
        values[name] = value
    return values


def _parse_line(line: str, number: int) -> tuple[str, str]:
    name, equals, rest = line.partition("=")
    if not equals or not _NAME.fullmatch(name):
        raise ValueError(f"line {number}: not NAME=value")
    value = _value(rest)
    if value is None:
        raise ValueError(f"line {number}: the value of {name} is not plain text a shell reads as it is; quote it 'so'")
    return name, value


def _value(text: str) -> str | None:
    """The value of ``text`` (what follows ``=``), or None when a shell could read it otherwise."""
    if text.startswith('"'):
        match = _DOUBLE.fullmatch(text)
        return re.sub(r"\\([\"\\$`])", r"\1", match.group(1)) if match else None
    if text.startswith("'") or text.startswith("\\'"):
        return _single_quoted(text)
    return text if _PLAIN.fullmatch(text) else None


def _single_quoted(text: str) -> str | None:
    pieces, position = [], 0
    while position < len(text):
        match = _SINGLE.match(text, position)
        if match is None:
            return None
        pieces.append(match.group(1) if match.group(2) is None else "'")
        position = match.end()
    return "".join(pieces)
