"""The token cache is an optimisation, never a reason to fail or hang: a backfill through the real CLI (a
subprocess) against FakeZoho on 127.0.0.1 runs, with one warning, when the cache holds a token a header cannot
carry, is a FIFO, is a file where the folder should be, or sits in a folder others can write to (issue 21,
points 4, 5 and 6)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.cli_helpers import connection_args, make_world, write_csv
from zcrm_async import AccessToken, FileTokenStore

# private on purpose: the fingerprint a cached token is keyed by
from zcrm_async._auth import client_fingerprint
from zcrm_async.testing import FakeZoho

TIMEOUT = 60


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeZoho, Path]]:
    fake = FakeZoho()
    rows = make_world(fake, contacts=1, emails=2)
    with fake.serving_in_thread():
        yield fake, write_csv(tmp_path / "in.csv", rows)


def _backfill(fake: FakeZoho, path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "zcrm_async.cli", "backfill", "link", str(path), "-q",
               "--journal", str(path.with_suffix(".journal")), *connection_args(fake)]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "ZCRM_TOKEN_CACHE": str(cache)})  # fmt: skip


def _store(fake: FakeZoho, cache: Path) -> FileTokenStore:
    cfg = fake.config
    return FileTokenStore.for_client(cache, accounts_url=fake.url, client_id=cfg.client_id,
                                     refresh_token=cfg.refresh_token)  # fmt: skip


def _ran(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SUCCESS" in result.stdout


def test_a_cached_token_a_header_cannot_carry_is_not_used(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    store = _store(fake, cache)
    cfg = fake.config
    planted = AccessToken(value="1000.a\r\nX-Evil: 1", expires_at=time.time() + 1800, api_domain=fake.url,
                          client=client_fingerprint(fake.url, cfg.client_id, cfg.refresh_token))  # fmt: skip
    cache.mkdir(mode=0o700)
    store.path.write_bytes(msgspec.json.encode(planted))
    store.path.chmod(0o600)
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "cannot carry" in result.stderr
    assert fake.stats.token_refreshes == 1
    assert b"\r" not in store.path.read_bytes()  # replaced by the fresh one


def test_a_cached_token_said_to_live_for_ages_is_not_used(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    store = _store(fake, cache)
    cfg = fake.config
    planted = AccessToken(value="1000.unknown", expires_at=1e15, api_domain=fake.url,
                          client=client_fingerprint(fake.url, cfg.client_id, cfg.refresh_token))  # fmt: skip
    cache.mkdir(mode=0o700)
    store.path.write_bytes(msgspec.json.encode(planted))
    store.path.chmod(0o600)
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "further ahead than Zoho's hour" in result.stderr
    assert fake.stats.token_refreshes == 1
    assert fake.stats.responses[401] == 0  # the planted token was never sent


@pytest.mark.parametrize("where", ["tokens is a file", "under a file"])
def test_a_token_cache_that_cannot_be_written_warns_and_the_run_goes_on(
    served: tuple[FakeZoho, Path], tmp_path: Path, where: str
) -> None:
    fake, path = served
    (tmp_path / "tokens").write_text("not a folder")
    cache = tmp_path / "tokens" if where == "tokens is a file" else tmp_path / "tokens" / "sub"
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "going on without it" in result.stderr
    assert (tmp_path / "tokens").read_text() == "not a folder"


def test_a_fifo_at_the_cache_path_does_not_hang_the_run(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    cache.mkdir(mode=0o700)
    store = _store(fake, cache)
    os.mkfifo(store.path, 0o600)
    result = _backfill(fake, path, cache)  # before: blocked opening the FIFO until the timeout
    _ran(result)
    assert "not a regular file" in result.stderr
    assert stat.S_ISREG(store.path.stat().st_mode)  # the fresh token replaced it


def test_a_cache_folder_others_can_write_to_is_not_used(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    cache.mkdir()
    cache.chmod(0o777)
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "other users can write to the folder" in result.stderr
    assert list(cache.iterdir()) == []  # nothing private left where others could swap it


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a folder to another user")
def test_a_cache_folder_another_user_owns_is_not_used(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    cache.mkdir(mode=0o700)
    os.chown(cache, 4321, -1)
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "belongs to another user" in result.stderr
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")
def test_a_token_file_another_user_owns_is_not_used(served: tuple[FakeZoho, Path], tmp_path: Path) -> None:
    fake, path = served
    cache = tmp_path / "tokens"
    cache.mkdir(mode=0o700)
    store = _store(fake, cache)
    cfg = fake.config
    token = AccessToken(value="1000.planted", expires_at=time.time() + 1800, api_domain=fake.url,
                        client=client_fingerprint(fake.url, cfg.client_id, cfg.refresh_token))  # fmt: skip
    store.path.write_bytes(msgspec.json.encode(token))
    store.path.chmod(0o600)
    os.chown(store.path, 4321, -1)
    result = _backfill(fake, path, cache)
    _ran(result)
    assert "belongs to another user" in result.stderr
    assert fake.stats.token_refreshes == 1
