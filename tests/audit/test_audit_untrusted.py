"""The audit does not trust what Get Records says of deals, and a failed audit never costs the previous plan
(issue 21, point 7 and two of its LOW items). Through the real CLI as a subprocess, against FakeZoho behind a proxy
on 127.0.0.1 that rewrites Zoho's answers the way a broken or hostile server would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import anyio
import pytest
from aiohttp import web

from tests.hostile import HostileServer
from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

#: (request path, the fake's JSON answer) -> the answer to give instead.
Rewrite = Callable[[str, dict[str, object]], dict[str, object]]


def _unchanged(path: str, body: dict[str, object]) -> dict[str, object]:
    return body


@asynccontextmanager
async def _proxy(fake: FakeZoho) -> AsyncIterator[tuple[HostileServer, list[Rewrite]]]:
    """A server in front of the fake (token endpoint and API alike) whose JSON answers pass through
    ``rewrites[0]``; the token answer names the proxy as the API domain, so every call comes through it."""
    rewrites: list[Rewrite] = [_unchanged]
    async with aiohttp.ClientSession() as session, HostileServer().running() as server:

        async def forward(request: web.Request) -> web.StreamResponse:
            headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
            async with session.request(
                request.method, fake.url + request.path_qs, headers=headers, data=await request.read()
            ) as answer:
                raw = await answer.read()
                kind = answer.content_type
            if kind == "application/json" and raw:
                body = json.loads(raw)
                if request.path.endswith("/oauth/v2/token"):
                    body["api_domain"] = server.url
                raw = json.dumps(rewrites[0](request.path, body)).encode()
            return web.Response(status=answer.status, body=raw, content_type=kind or None)

        server.handler = forward
        yield server, rewrites


async def _cli(fake: FakeZoho, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = fake.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    env.update(ZOHO_CLIENT_SECRET=cfg.client_secret, ZOHO_REFRESH_TOKEN=cfg.refresh_token)
    command = [sys.executable, "-m", "zcrm_async.cli", *args, "--api-domain", url, "--accounts-url", url,
               "--client-id", cfg.client_id, "--no-token-cache"]  # fmt: skip

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    return await anyio.to_thread.run_sync(run)


def _files(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` by name, with its bytes."""
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def _records(body: dict[str, object]) -> list[dict[str, object]]:
    data = body.get("data")
    assert isinstance(data, list)
    return data


async def test_deal_records_without_a_usable_id_are_skipped_with_one_line(tmp_path: Path) -> None:
    async with FakeZoho() as fake, _proxy(fake) as (proxy, rewrites):
        fake.seed_misfiled(contacts=8, emails_per_contact=3, seed=3)

        def break_ids(path: str, body: dict[str, object]) -> dict[str, object]:
            if path.endswith("/Deals") and "data" in body:
                records = _records(body)
                del records[0]["id"]
                records[1]["id"] = {"x": 1}
                records[2]["id"] = None
                records[3]["Contact_Name"] = {"name": "odd", "id": ["1", "2"]}
            return body

        rewrites[0] = break_ids
        plan = tmp_path / "plan.csv"
        done = await _cli(fake, proxy.url, "audit", "--rule", "prediction", "--plan", str(plan))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(lines) == 1 and "3 deal records" in lines[0], done.stderr
    for name, content in _files(tmp_path).items():
        text = content.decode()
        assert "{'x': 1}" not in text and "None" not in text and "['1', '2']" not in text, name


async def test_a_failed_audit_leaves_the_previous_plan_as_it_was(tmp_path: Path) -> None:
    async with FakeZoho() as fake, _proxy(fake) as (proxy, rewrites):
        fake.seed_misfiled(contacts=8, emails_per_contact=3, seed=4)
        plan = tmp_path / "plan.csv"
        good = await _cli(fake, proxy.url, "audit", "--rule", "prediction", "--plan", str(plan))
        assert good.returncode == 0, good.stderr
        before = _files(tmp_path)
        assert "plan.relink.csv" in before

        def no_stage(path: str, body: dict[str, object]) -> dict[str, object]:
            if path.endswith("/settings/fields"):
                fields = body.get("fields")
                assert isinstance(fields, list)
                body["fields"] = [field for field in fields if field.get("api_name") != "Stage"]
            return body

        rewrites[0] = no_stage
        failed = await _cli(fake, proxy.url, "audit", "--rule", "prediction", "--plan", str(plan))
    assert failed.returncode != 0
    assert "Stage" in failed.stderr and "Traceback" not in failed.stderr
    assert _files(tmp_path) == before  # no temporary file left either


async def test_a_plan_named_json_is_json_lines_that_the_backfill_reads(tmp_path: Path) -> None:
    async with FakeZoho() as fake, _proxy(fake) as (proxy, _):
        fake.seed_misfiled(contacts=8, emails_per_contact=3, seed=5)
        plan = tmp_path / "plan.json"
        done = await _cli(fake, proxy.url, "audit", "--rule", "prediction", "--plan", str(plan))
        assert done.returncode == 0, done.stderr
        relink = tmp_path / "plan.relink.json"
        rows = [json.loads(line) for line in relink.read_text().splitlines()]
        assert rows and all(row["deal_id"] and row["message_id"] for row in rows)
        dry = await _cli(fake, proxy.url, "backfill", "relink", str(relink), "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"{len(rows)} " in dry.stdout


async def test_more_records_null_does_not_fail_the_audit_and_every_deal_is_read(tmp_path: Path) -> None:
    async with FakeZoho() as fake, _proxy(fake) as (proxy, rewrites):
        seeded = fake.seed_misfiled(contacts=8, emails_per_contact=3, seed=6)

        def null_more(path: str, body: dict[str, object]) -> dict[str, object]:
            info = body.get("info")
            if path.endswith("/Deals") and isinstance(info, dict):
                info["more_records"] = None
            return body

        rewrites[0] = null_more
        report = tmp_path / "judged.jsonl"
        done = await _cli(fake, proxy.url, "audit", "--rule", "prediction", "--report", str(report))
    assert done.returncode == 0, done.stderr
    assert len(report.read_text().splitlines()) == len(seeded.message_ids)
