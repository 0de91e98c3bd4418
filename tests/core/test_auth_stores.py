"""Token stores: the file store's private, atomic writes, and a stored token reused or dropped across runs."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.core.scripted_zoho import ACCESS_PREFIX, Clock, Zoho, manager
from zcrm_async import AccessToken, FileTokenStore, MemoryTokenStore

pytestmark = pytest.mark.anyio


# -- stores --------------------------------------------------------------------------------------------------


async def test_file_store_writes_0600_atomically_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token.json"
    store = FileTokenStore(path)
    assert await store.load() is None

    token = AccessToken(value=f"{ACCESS_PREFIX}file", expires_at=1_800_000_000.0, api_domain="https://www.zohoapis.eu")
    await store.save(token)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(path.parent) == ["token.json"]  # no temporary file left behind
    assert json.loads(path.read_bytes())["access_token"] == f"{ACCESS_PREFIX}file"
    assert await FileTokenStore(path).load() == token


async def test_file_store_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    await FileTokenStore(path).save(AccessToken(value="1000.B", expires_at=1.0))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.stat(path).st_ino != inode  # replaced by rename, never rewritten in place


async def test_file_store_ignores_an_unreadable_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(b'{"access_token": "half')
    path.chmod(0o600)
    assert await FileTokenStore(path).load() is None
    assert "unreadable token file" in caplog.text


async def test_a_stored_fresh_token_is_reused_across_runs(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "token.json"
    first_zoho = Zoho()
    first, _ = manager(first_zoho, clock=clock, store=FileTokenStore(path))
    await first.get_token()

    second_zoho = Zoho()
    second, transport = manager(second_zoho, clock=clock, store=FileTokenStore(path))
    token = await second.get_token()

    assert token.value == f"{ACCESS_PREFIX}1"
    assert transport.requests == []
    assert second.api_domain == "https://www.zohoapis.eu"


async def test_a_stored_token_that_was_refused_is_not_reused(tmp_path: Path) -> None:
    clock = Clock()
    store = MemoryTokenStore()
    zoho = Zoho()
    tokens, _ = manager(zoho, clock=clock, store=store)
    old = await tokens.get_token()
    new = await tokens.invalidate(old)
    assert new != old
    assert await store.load() == new
