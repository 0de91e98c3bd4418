"""Output files checked before any work: one that could not be written at the end would lose it."""

from __future__ import annotations

import os
from pathlib import Path

from ._failures import UsageError

__all__ = ["check_writable"]


def check_writable(path: Path, flag: str, *, folder_too: bool = False) -> None:
    """Refuse, before any work, an output file that could not be written at the end (its work would be lost).

    ``folder_too``: the folder must be writable even when the file exists (SQLite writes its ``-wal`` beside it).

    Raises:
        UsageError: the file is a folder or read-only, or its folder is missing or read-only (a read-only
            filesystem included: ``access`` answers EROFS there, even for root).
    """
    if path.is_dir():
        raise UsageError(f"cannot write {flag} {path}: it is a folder")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {flag} {path}: the file is read-only")
        if not folder_too:
            return
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {flag} {path}: the folder {folder} is not writable")
