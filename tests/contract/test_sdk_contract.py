"""Zoho's official Python SDK (``zohocrmsdk8-0``) parses every FakeZoho answer it has a model for.

The SDK runs in its own venv (``benchmarks/sdk_env.py`` makes it, as the benchmarks do) against FakeZoho served
from a thread; ``sdk_worker.py`` reads every page of some contacts' emails (sparse ones with null fields among
them), one email, Get Modules, Get Module by API name, and associates one email. The SDK logs and swallows what
it cannot parse, so each answer must come back as the SDK's own model class.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks.sdk_env import SDKUnavailable, sdk_python
from zcrm_async.testing import FakeConfig, FakeZoho

WORKER = Path(__file__).with_name("sdk_worker.py")
EXPECTED = {
    "get_emails": "ResponseWrapper",
    "get_email": "ResponseWrapper",
    "get_modules": "ResponseWrapper",
    "get_module_by_api_name": "ResponseWrapper",
    "associate": "ActionWrapper",
}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_official_sdk_reads_every_answer_it_has_a_model_for() -> None:
    try:
        python = sdk_python()
    except SDKUnavailable as exc:  # a missing dependency fails, never skips
        pytest.fail(f"the SDK's venv could not be made: {exc}", pytrace=False)
    fake = FakeZoho(FakeConfig(null_share=0.2))
    seeded = fake.seed_world(contacts=3, emails_per_contact=25)
    assert seeded.sparse_ids
    with fake.serving_in_thread() as url:
        spec = {
            "url": url,
            "client_id": fake.config.client_id,
            "client_secret": fake.config.client_secret,
            "refresh_token": fake.config.refresh_token,
            "contact_ids": list(seeded.contact_ids),
            "one_email": {"contact_id": seeded.contact_ids[0], "message_id": seeded.message_ids[0]},
        }
        done = subprocess.run(
            [str(python), str(WORKER), json.dumps(spec)], capture_output=True, text=True, timeout=240, check=False
        )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    wrong = [call for call in report["calls"] if call["parsed_as"] != EXPECTED[call["call"]]]
    assert not wrong, wrong
    assert {call["call"] for call in report["calls"]} == set(EXPECTED)
    assert report["emails_read"] == len(seeded.message_ids) + len(seeded.sparse_ids)
    assert fake.stats.responses[201] == 1  # the associated email was taken
