"""FakeZoho answers bodies it cannot read as Zoho would (a 4xx in Zoho's shape, never a 500 with a traceback), and
`zcrm-async fake-server` refuses what it cannot do in one line: a port in use, a negative count. Bound to every
interface, it names the address a client on this machine can use (issue 21, LOW)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import aiohttp
import pytest

from zcrm_async.testing import FakeZoho

pytestmark = pytest.mark.anyio

TIMEOUT = 30
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("path", ["Contacts/{c}/Emails/actions/link_record", "Contacts/{c}/actions/associate_email",
                                  "Contacts", "coql"])  # fmt: skip
async def test_json_nested_100000_deep_is_zohos_invalid_data(path: str) -> None:
    async with FakeZoho() as fake, aiohttp.ClientSession() as http:
        contact = fake.add_contact("Ada")
        headers = {"Authorization": f"Zoho-oauthtoken {fake.issue_token()}", "Content-Type": "application/json"}
        url = f"{fake.url}/crm/v8/{path.format(c=contact)}"
        async with http.post(url, data=DEEP, headers=headers) as response:
            assert response.status == 400, await response.text()
            body = await response.json()
    assert body["code"] == "INVALID_DATA" and body["status"] == "error"
    assert fake.stats.responses[500] == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"grant_type=refresh_token&client_id=\xff\xfe"),
        ("multipart/form-data; boundary=xx", b"--xx\r\nbroken"),
        ("multipart/form-data", b"no boundary at all"),
    ],
)
async def test_a_token_request_whose_form_cannot_be_read_is_invalid_request(content_type: str, body: bytes) -> None:
    headers = {"Content-Type": content_type}
    async with FakeZoho() as fake, aiohttp.ClientSession() as http:
        answer = await http.post(f"{fake.url}/oauth/v2/token", data=body, headers=headers)
        assert answer.status == 400, await answer.text()
        assert (await answer.json())["error"] == "invalid_request"
    assert fake.stats.responses[500] == 0


def _fake_server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zcrm_async.cli", "fake-server", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, env={**os.environ})  # fmt: skip


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _fake_server("--port", str(port))
    assert result.returncode == 1
    expected = f"fake-server: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert result.stderr.strip().splitlines() == [expected]


@pytest.mark.parametrize("flag", ["--seed-contacts", "--seed-misfiled", "--seed-users"])
def test_a_negative_count_is_one_line(flag: str) -> None:
    result = _fake_server(flag, "-5")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"{flag} must be" in line and "not -5" in line


def test_bound_to_every_interface_it_prints_flags_a_client_here_can_use() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "zcrm_async.cli", "fake-server", "--host", "0.0.0.0",
                             "--seed-contacts", "2", "--write-sample", os.devnull],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        flags = ""
        for line in proc.stdout:
            if line.startswith("point zcrm-async at it with these flags: "):
                flags = line.removeprefix("point zcrm-async at it with these flags: ").strip()
                break
        sample_free = subprocess.run(
            [sys.executable, "-m", "zcrm_async.cli", "auth", "check", *flags.split()],
            capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "ZCRM_TOKEN_CACHE": "off"},
        )  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "--api-domain http://127.0.0.1:" in flags
    assert sample_free.returncode == 0, sample_free.stderr
