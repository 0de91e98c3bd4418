"""`python -m zcrm_async.testing` runs FakeZoho as a process that announces itself and stops on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys

import aiohttp

from zcrm_async.testing import Leniency
from zcrm_async.testing.server import add_arguments, config_from


def test_flags_map_onto_the_config() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--latency-ms", "25", "--concurrency-cap", "5", "--daily-credits", "9", "--seed", "3"])
    cfg = config_from(args)
    assert (cfg.latency, cfg.concurrency_cap, cfg.daily_credits, cfg.seed) == (0.025, 5, 9, 3)
    assert (args.host, args.port) == ("127.0.0.1", 0)


def test_contract_waivers_and_nulls_are_flags_all_off_by_default() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    strict = config_from(parser.parse_args([]))
    assert strict.leniency == Leniency() and strict.associate_max_items == 1
    waived = config_from(
        parser.parse_args(["--lenient", "module_id_optional", "--lenient", "unknown_keys", "--null-share", "0.5"])
    )
    assert waived.leniency == Leniency(module_id_optional=True, unknown_keys=True)
    assert waived.null_share == 0.5


async def _read_until_listening(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    while True:
        line = (await proc.stdout.readline()).decode()
        assert line, "the fake exited before listening"
        if line.startswith("FakeZoho listening on "):
            return line.split()[-1]


def test_process_serves_and_stops_on_sigterm() -> None:
    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "zcrm_async.testing", "--port", "0", "--seed-contacts", "2",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            url = await asyncio.wait_for(_read_until_listening(proc), timeout=20)
            assert url.startswith("http://127.0.0.1:")
            form = {
                "grant_type": "refresh_token",
                "client_id": "fake-client-id",
                "client_secret": "fake-client-secret",
                "refresh_token": "fake-refresh-token",
            }
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{url}/oauth/v2/token", data=form) as resp:
                    token = (await resp.json())["access_token"]
                headers = {"Authorization": f"Zoho-oauthtoken {token}"}
                async with http.get(f"{url}/crm/v8/Contacts", params={"fields": "Last_Name"}, headers=headers) as resp:
                    assert resp.status == 200
                    assert [r["Last_Name"] for r in (await resp.json())["data"]] == ["Contact 2", "Contact 1"]
        finally:
            if proc.returncode is None:
                proc.terminate()
            rc = await asyncio.wait_for(proc.wait(), timeout=10)
        assert rc == 0

    asyncio.run(main())


def test_serving_in_thread_answers_sync_clients_and_keeps_the_world() -> None:
    import urllib.request

    from zcrm_async.testing import FakeZoho

    fake = FakeZoho()
    contact = fake.add_contact(name="Ada")
    with fake.serving_in_thread() as url:
        token = fake.issue_token()
        request = urllib.request.Request(
            f"{url}/crm/v8/Contacts/{contact}/Emails", headers={"Authorization": f"Zoho-oauthtoken {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 204  # no emails yet: Zoho's empty answer
    assert fake.stats.requests["get_emails"] == 1
