"""``FileTokenStore``: the access token in a private file, so runs of a script reuse it instead of refreshing.

Which client a token belongs to is checked by ``TokenManager`` (the token's ``client`` stamp), not by the file:
the same check protects every store. This module only keeps the file private and whole, and the cache harmless:

- it is opened without blocking and used only when it is a regular file the user owns, that no one else can read,
  in a folder the user owns that no one else can write to (a FIFO there would hang every run; a folder others can
  write to lets them swap the file);
- it is an optimisation, never a reason to fail: a cache that cannot be read or written (a read-only folder, a
  file where the folder should be) is warned about once per run and the run goes on without it. A failure there
  comes after a refresh was spent, so raising would throw the new token away too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import tempfile
import urllib.parse
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import anyio
import msgspec

from ._auth import AccessToken, _decode_token, _encode_token, _no_lock, client_fingerprint

__all__ = ["FileTokenStore"]

logger = logging.getLogger("zcrm_async")

#: The most read from a token file: a token is a few hundred bytes.
MAX_BYTES = 64 * 1024


class FileTokenStore:
    """Keeps the token in a JSON file, mode 0600, replaced atomically so a reader never sees half of it.

    Useful for scripts run again and again: each run reuses the last token instead of asking for a new one.
    Folders it creates are mode 0700. A token file other users can read is not trusted (it is not used, and the
    next save replaces it with a private one). :meth:`for_client` names the file after its client, so one folder
    can cache the tokens of many orgs and apps.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def for_client(
        cls, folder: str | os.PathLike[str], *, accounts_url: str, client_id: str, refresh_token: str
    ) -> FileTokenStore:
        """A store in ``folder`` whose file name says its accounts server and client id, and holds a hash of the
        three (the refresh token itself is never in a name or in the file)."""
        host = urllib.parse.urlsplit(accounts_url).netloc or accounts_url
        digest = client_fingerprint(accounts_url, client_id, refresh_token)[:16]
        name = f"{_safe_name(host)}-{_safe_name(client_id)}-{digest}.json"
        return cls(Path(folder) / name)

    async def load(self) -> AccessToken | None:
        try:
            data = await anyio.to_thread.run_sync(self._read)
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read token file %s: %s; going on without it", self.path, exc.strerror or exc)
            return None
        if data is None:
            return None
        try:
            return _decode_token(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            logger.warning("ignoring unreadable token file %s", self.path)
            return None

    def _read(self) -> bytes | None:
        if (problem := folder_problem(self.path.parent)) is not None:
            logger.warning("not using token file %s: %s", self.path, problem)
            return None
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if (problem := _file_problem(os.fstat(fd))) is not None:
                logger.warning("not using token file %s: %s; it is replaced by a private one", self.path, problem)
                return None
            return handle.read(MAX_BYTES)

    async def save(self, token: AccessToken) -> None:
        """Keep ``token`` in the file; when that fails, say so (a warning) and go on: the cache is best-effort."""
        try:
            await anyio.to_thread.run_sync(self._write, _encode_token(token))
        except OSError as exc:
            logger.warning("cannot write token file %s: %s; going on without it", self.path, exc.strerror or exc)

    def _write(self, data: bytes) -> None:
        make_private_folders(self.path.parent)
        if (problem := folder_problem(self.path.parent)) is not None:
            raise OSError(problem)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    @staticmethod
    def folder_problem(folder: str | os.PathLike[str]) -> str | None:
        """Why tokens cannot be kept in ``folder`` (checked without writing), or None: it (or the first parent that
        exists) is a file or read-only, another user owns it, or others can write to it."""
        return unwritable_folder(Path(folder)) or folder_problem(Path(folder))

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return _no_lock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "_", text).strip("._") or "_"


def unwritable_folder(folder: Path) -> str | None:
    """Why a file could not be created in ``folder`` (created first if missing), or None."""
    while not folder.exists():
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable"
    return None


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` must not hold a private file (another user owns it, others can write to it), or None."""
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        return None  # nothing to read; a save creates it private
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a folder"
    if info.st_uid != os.getuid():
        return f"the folder {folder} belongs to another user"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        return f"other users can write to the folder {folder} (mode {mode:o})"
    return None


def _file_problem(info: os.stat_result) -> str | None:
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if info.st_uid != os.getuid():
        return "it belongs to another user"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"other users can read it (mode {mode:o})"
    return None


def make_private_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each mode 0700 (``mkdir(parents=True)`` would give the umask's)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for created in reversed(missing):
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=0o700)
            os.chmod(created, 0o700)  # the umask may have taken bits off
