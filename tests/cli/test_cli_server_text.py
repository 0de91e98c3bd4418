"""What a server says is shown as plain text by the CLI (a subprocess): no markup, no emoji codes, no terminal
escapes, from a per-item code kept in the journal to a refusal of the credentials. Also: a mistyped secret flag
is never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from zcrm_async.testing import DEALS_MODULE_ID

CONTACT, DEAL, OWNER = "5843104000000425349", "5843104000004382122", "5843104000000424672"
#: Per-item codes a hostile (or broken) server could answer, each with how the CLI must show it.
CODES = {
    "[/x]": "[/x]",  # closes a style that was never opened: rich's markup raised MarkupError
    "[bold red]LOUD": "[bold red]LOUD",
    ":boom:": ":boom:",  # an emoji code
    "\x1b[2JWIPED\x07": "\\x1b[2JWIPED\\x07",  # clear the screen, ring the bell
}
SECRET = "refresh-DO-NOT-PRINT-5d4c3b"


def _answer_link(request_items: list[dict[str, Any]]) -> web.Response:
    """The first item linked; the rest refused with the crafted codes and messages."""
    answers: list[dict[str, Any]] = [
        {"code": "SUCCESS", "status": "success", "message": "linked", "details": {"message_id": "m0"}}
    ]
    for item, code in zip(request_items[1:], CODES, strict=True):
        message = f"{code} \x1b]0;a window title\x07"
        answers.append({"code": code, "status": "error", "message": message, "details": {"id": item["message_id"]}})
    return web.json_response({"Emails": answers}, status=207)


@asynccontextmanager
async def _server(token: Callable[[web.Request], dict[str, Any]]) -> AsyncIterator[str]:
    """A tiny Zoho-shaped server on 127.0.0.1: a token endpoint and Link Deal to Emails."""

    async def token_endpoint(request: web.Request) -> web.Response:
        return web.json_response(token(request))

    async def link(request: web.Request) -> web.Response:
        body = await request.json()
        return _answer_link(body["Emails"])

    app = web.Application()
    app.router.add_post("/oauth/v2/token", token_endpoint)
    app.router.add_post(f"/crm/v8/Contacts/{CONTACT}/Emails/actions/link_record", link)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _granted(request: web.Request) -> dict[str, Any]:
    api_domain = f"{request.scheme}://{request.host}"
    return {"access_token": "1000.access", "api_domain": api_domain, "token_type": "Bearer", "expires_in": 3600}


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    rows = [f"{CONTACT},m{n},{DEAL},{OWNER}\n" for n in range(len(CODES) + 1)]
    path.write_text("contact_id,message_id,deal_id,owner_id\n" + "".join(rows), encoding="utf-8")
    return path


async def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "zcrm_async.cli", *args]
    return await anyio.run_process(command, check=False, env={**os.environ, "ZCRM_TOKEN_CACHE": "off"})


def _connection(url: str) -> list[str]:
    return [
        "--api-domain", url, "--accounts-url", url, "--client-id", "1000.client", "--client-secret", "secret-x",
        "--refresh-token", SECRET, "--deals-module-id", DEALS_MODULE_ID,
    ]  # fmt: skip


@pytest.mark.anyio
async def test_per_item_codes_from_the_server_are_shown_as_plain_text_in_every_run(tmp_path: Path) -> None:
    path = _input(tmp_path)
    async with _server(_granted) as url:
        for run in ("first", "resumed"):  # the codes are kept in the journal: a later run shows them again
            result = await _cli("backfill", "link", str(path), "--report", str(tmp_path / "report.jsonl"),
                                *_connection(url))  # fmt: skip
            out, err = result.stdout.decode(), result.stderr.decode()
            assert "Traceback" not in err, (run, err[-3000:])
            assert result.returncode == 1, (run, err[-3000:])  # some items failed, and the run said so
            assert "\x1b" not in out + err and "\x07" not in out + err and "💥" not in out, run
            for shown in CODES.values():
                assert shown in out, (run, shown, out)


@pytest.mark.anyio
async def test_a_refusal_of_the_credentials_is_shown_as_plain_text(tmp_path: Path) -> None:
    def refused(request: web.Request) -> dict[str, Any]:
        return {"error": "[/x][bold red]invalid_client\x1b[2J"}

    async with _server(refused) as url:
        result = await _cli("backfill", "link", str(_input(tmp_path)), *_connection(url))
    err = result.stderr.decode()
    assert "Traceback" not in err, err[-3000:]
    assert result.returncode == 1, err
    assert "[/x][bold red]invalid_client\\x1b[2J" in err
    assert "\x1b" not in err


@pytest.mark.anyio
@pytest.mark.parametrize(
    "mistyped",
    [
        ["--refresh_token", SECRET], [f"--refresh_token={SECRET}"], ["--Client_Secret", SECRET],
        ["--refreshtoken", SECRET],
    ],
)
async def test_a_mistyped_secret_flag_is_not_echoed(tmp_path: Path, mistyped: list[str]) -> None:
    result = await _cli("backfill", "link", str(_input(tmp_path)), "--dry-run", *mistyped)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 2, err
    assert "unrecognized arguments" in err
    assert SECRET not in out + err
