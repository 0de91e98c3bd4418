"""The examples run to completion against FakeZoho (they start it in-process when no credentials are set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_example(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_service_handler_links_once_then_reports_already_linked() -> None:
    out = run_example("examples/service_link_one.py")
    assert "first:  {'ok': True, 'code': 'SUCCESS'" in out
    assert "again:  {'ok': False, 'code': 'ALREADY_LINKED'" in out


def test_relink_csv_relinks_every_email() -> None:
    out = run_example("examples/relink_csv.py")
    assert "240 emails: {'SUCCESS': 240}" in out


@pytest.mark.parametrize("ids", [[], ["none"]])
def test_export_jsonl_writes_each_email_once(tmp_path: Path, ids: list[str]) -> None:
    out = tmp_path / "emails.jsonl"
    if ids:
        # An id that is not numeric is refused before any request.
        env_args = ["examples/export_jsonl.py", str(out), *ids]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
        done = subprocess.run([sys.executable, *env_args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode != 0 and "record_id must be a numeric Zoho id" in done.stderr
        return
    printed = run_example("examples/export_jsonl.py", str(out))
    lines = out.read_bytes().splitlines()
    assert f"wrote {len(lines)} emails of 20 contacts" in printed
    addressed = [json.loads(line)["email"]["message_id"] for line in lines]
    # The 240 seeded emails once each, and the suite's fake adds some whose message_id Zoho may answer null.
    assert len({m for m in addressed if m is not None}) == len([m for m in addressed if m is not None]) == 240


def test_examples_honour_the_servers_in_the_environment(tmp_path: Path) -> None:
    from zcrm_async.testing import FakeZoho

    fake = FakeZoho()
    contact = fake.add_contact("Ada")
    fake.add_email(contact, fake.add_user("Owner"), received=False)
    out = tmp_path / "emails.jsonl"
    with fake.serving_in_thread() as url:
        cfg = fake.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")}
        env.update(ZOHO_CLIENT_ID=cfg.client_id, ZOHO_CLIENT_SECRET=cfg.client_secret,
                   ZOHO_REFRESH_TOKEN=cfg.refresh_token, ZOHO_API_DOMAIN=url, ZOHO_ACCOUNTS_URL=url)  # fmt: skip
        done = subprocess.run([sys.executable, "examples/export_jsonl.py", str(out), contact], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote 1 emails of 1 contacts" in done.stdout
    assert fake.stats.token_refreshes == 1  # the token came from the server named, not Zoho's
