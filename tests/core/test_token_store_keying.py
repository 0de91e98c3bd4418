"""A stored token is used only by the client it was issued to; token files are private (issue 13, point 6)."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest

from zcrm_async import AccessToken, AuthenticationError, FileTokenStore, ZohoCRM

# private on purpose: the fingerprint a token is keyed by
from zcrm_async._auth import client_fingerprint
from zcrm_async.testing import FakeConfig, FakeZoho

pytestmark = pytest.mark.anyio


def org(name: str) -> FakeZoho:
    return FakeZoho(FakeConfig(client_id=f"1000.{name}", client_secret=f"secret-{name}", refresh_token=f"rt-{name}"))


def client_of(fake: FakeZoho, store: FileTokenStore, **kwargs: object) -> ZohoCRM:
    cfg = fake.config
    return ZohoCRM(
        client_id=cfg.client_id, client_secret=cfg.client_secret, refresh_token=cfg.refresh_token,
        accounts_url=fake.url, token_store=store, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


async def read(crm: ZohoCRM, contact_id: str) -> None:
    async for _ in crm.emails.iterate("Contacts", contact_id):
        pass


async def test_a_client_for_another_org_never_uses_the_stored_token(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    async with org("a") as a, org("b") as b:
        contact_a, contact_b = a.add_contact("In A"), b.add_contact("In B")
        async with client_of(a, FileTokenStore(path)) as crm:
            await read(crm, contact_a)
        async with client_of(b, FileTokenStore(path)) as crm:
            await read(crm, contact_b)  # with A's token and API domain this would go to A
            assert crm.api_domain == b.url
        assert (a.stats.tokens_issued, b.stats.tokens_issued) == (1, 1)
        assert b.stats.requests["get_emails"] == 1 and a.stats.requests["get_emails"] == 1
        stored = json.loads(path.read_bytes())
        assert stored["client"] == client_fingerprint(b.url, "1000.b", "rt-b")
        assert "rt-b" not in path.read_text()


async def test_the_same_client_reuses_its_stored_token_without_asking(tmp_path: Path) -> None:
    async with org("a") as a:
        contact = a.add_contact("In A")
        store = FileTokenStore.for_client(tmp_path, accounts_url=a.url, client_id="1000.a", refresh_token="rt-a")
        for _ in range(3):
            async with client_of(a, store) as crm:
                await read(crm, contact)
        assert a.stats.tokens_issued == 1


async def test_an_unstamped_stored_token_is_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    async with org("a") as a:
        await FileTokenStore(path).save(AccessToken(value="1000.someone-elses", expires_at=4e9, api_domain=a.url))
        async with client_of(a, FileTokenStore(path)) as crm:
            token = await crm.authenticate()
        assert token.value != "1000.someone-elses"
        assert a.stats.tokens_issued == 1


def test_for_client_names_the_server_and_client_never_the_refresh_token(tmp_path: Path) -> None:
    one = FileTokenStore.for_client(tmp_path, accounts_url="https://accounts.zoho.eu", client_id="1000.X",
                                    refresh_token="1000.the-refresh-token")  # fmt: skip
    other = FileTokenStore.for_client(tmp_path, accounts_url="https://accounts.zoho.eu", client_id="1000.X",
                                      refresh_token="1000.another-refresh-token")  # fmt: skip
    assert one.path.parent == tmp_path
    assert one.path.name.startswith("accounts.zoho.eu-1000.X-")
    assert "refresh" not in one.path.name
    assert one.path != other.path


async def test_a_token_file_others_can_read_is_not_used_and_is_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token.json"
    async with org("a") as a:
        async with client_of(a, FileTokenStore(path)) as crm:
            await crm.authenticate()
        os.chmod(path, 0o644)
        async with client_of(a, FileTokenStore(path)) as crm:
            await crm.authenticate()
        assert a.stats.tokens_issued == 2
    assert "other users can read it" in caplog.text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_folders_the_store_creates_are_private(tmp_path: Path) -> None:
    os.umask(0o022)
    path = tmp_path / "cache" / "zcrm" / "token.json"
    await FileTokenStore(path).save(AccessToken(value="1000.x", expires_at=1.0))
    for folder in (tmp_path / "cache", tmp_path / "cache" / "zcrm"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


async def test_token_wait_zero_fails_a_throttled_refresh_at_once_saying_when(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="zcrm_async")
    fake = FakeZoho(FakeConfig(token_refresh_limit=0))
    async with fake, client_of(fake, FileTokenStore(tmp_path / "t.json"), token_wait=0) as crm:
        with pytest.raises(AuthenticationError) as info:
            await crm.authenticate()
    assert info.value.code == "Access Denied"
    assert "can succeed from" in str(info.value)
    assert fake.stats.token_refreshes == 1
