"""Shared fixtures: anyio on asyncio (aiohttp is asyncio-only), and one real redis-server for the session.

Every FakeZoho the suite starts (in-process or as a subprocess) answers some of its seeded emails with every
field Zoho's schema marks nullable null, as a real org may: the client must read them all.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

os.environ.setdefault("ZCRM_FAKE_NULL_SHARE", "0.1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def private_cli_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI caches tokens and keeps config under the user's folders: give every test (and the processes it
    starts) folders of its own, never the real ones."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for name in ("ZCRM_TOKEN_CACHE", "ZCRM_TOKEN_WAIT", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN",
                 "ZOHO_DC", "ZOHO_API_DOMAIN", "ZOHO_ACCOUNTS_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


# -- a real redis-server, started once per session; a missing binary FAILS the tests that need it, never skips


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_ping(port: int, server: subprocess.Popen[bytes], within: float, password: str | None = None) -> None:
    deadline = time.monotonic() + within
    with redis.Redis(port=port, password=password, socket_connect_timeout=0.5) as client:
        while True:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server on port {port} did not answer PING within {within} s", pytrace=False)
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail(
            "redis-server is not on PATH; these tests need a real one (apt-get install -y redis-server)",
            pytrace=False,
        )
    port = _free_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_ping(port, server, within=10.0)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def redis_url(redis_port: int) -> str:
    return f"redis://127.0.0.1:{redis_port}/0"


@dataclasses.dataclass
class OwnRedis:
    """A redis-server for one test, which it may pause (SIGSTOP), resume, kill and start again (empty)."""

    port: int
    #: ``requirepass``: the URL then holds a secret, which no output may show.
    password: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "redis-server is not on PATH (apt-get install -y redis-server)"
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_ping(self.port, self.process, within=10.0, password=self.password)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.running:
            assert self.process is not None
            self.resume()
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server of the test's own (paused, killed or restarted at will), always gone when the test ends."""
    server = OwnRedis(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()
