"""``FileTokenStore``: the access token in a private file, so runs of a script reuse it instead of refreshing.

Which client a token belongs to is checked by ``TokenManager`` (the token's ``client`` stamp), not by the file:
the same check protects every store. This module only keeps the file private and whole.
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
            logger.warning("cannot read token file %s: %s", self.path, exc.strerror or exc)
            return None
        if data is None:
            return None
        try:
            return _decode_token(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            logger.warning("ignoring unreadable token file %s", self.path)
            return None

    def _read(self) -> bytes | None:
        with open(self.path, "rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            if mode & 0o077:
                logger.warning(
                    "not using token file %s: other users can read it (mode %o); it is replaced by a private one",
                    self.path, mode,
                )  # fmt: skip
                return None
            return handle.read()

    async def save(self, token: AccessToken) -> None:
        await anyio.to_thread.run_sync(self._write, _encode_token(token))

    def _write(self, data: bytes) -> None:
        _make_private_folders(self.path.parent)
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

    def refresh_lock(self) -> AbstractAsyncContextManager[None]:
        return _no_lock()

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "_", text).strip("._") or "_"


def _make_private_folders(folder: Path) -> None:
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
