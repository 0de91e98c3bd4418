"""The harness every benchmark shares: the fake server as a process, client workers as processes, result rows.

Two kinds of child process, both started with this venv's python:

- ``python -m benchmarks.bench_harness serve SPEC``: one ``FakeZoho`` (the library's own, unchanged), seeded as
  SPEC says, serving on 127.0.0.1. It prints ``READY <url>`` when it listens and answers two commands on stdin,
  ``stats`` (one JSON line: requests by endpoint, 429s, max in flight) and ``reset``; end of stdin stops it.
  It is a wrapper rather than ``python -m zcrm_async.testing`` because the process form has no way to read the
  fake's stats (so 429s would only be counted by the clients) and no way to seed emails that Deal Prediction
  leaves unlinked, which the link benchmark needs. It builds the same ``FakeConfig`` from the same knobs.
- ``python -m benchmarks.bench_harness worker MODULE SPEC``: runs ``benchmarks.MODULE.worker(SPEC)`` (a
  coroutine) and prints its JSON result as the last line. Each client runs alone in its process, so its CPU
  time (``time.process_time()``) and peak RSS are its own and not the server's.

Every child is bounded: a wall-clock timeout here, and a count and a deadline inside every load loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "FakeProcess",
    "Options",
    "Row",
    "baseline_tree",
    "compile_tree",
    "cpu_timer",
    "current_rss_kib",
    "fetch_token",
    "make_crm",
    "median",
    "peak_rss_kib",
    "pin_to",
    "raw_session",
    "read_json",
    "run_worker",
    "uneven_split",
]

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
REFRESH_TOKEN = "bench-refresh"
ROOT = Path(__file__).resolve().parent.parent
#: The fake on one core, the client on another: sharing a core makes every request a pair of
#: context switches that inflates both processes' CPU time, and which runs shared a core varied from run to run.
SERVER_CPU, CLIENT_CPU = 0, 1
#: Set for a worker that runs another tree's library (``run_worker(library=)``): that tree goes first on its path.
LIBRARY_ENV = "ZCRM_BENCH_LIBRARY"
#: Set to a path: the worker's timed block (``cpu_timer``) runs under cProfile and its stats are written there.
CPROFILE_ENV = "ZCRM_BENCH_CPROFILE"


def pin_to(cpu: int) -> bool:
    """Run this process on ``cpu`` only, when the machine has two cores or more (Linux); whether it did."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(0, {cpu})
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class Options:
    """What the command line asked for."""

    quick: bool
    #: The long runs too (figure 7's 1,000,000-item backfill).
    full: bool = False
    #: Figure 7's peer: the git commit whose CLI ours is measured beside (None: the figure's own default).
    baseline: str | None = None
    #: ``--baseline REF`` checked out (``baseline_tree``): every figure runs its library beside ours.
    baseline_tree: Path | None = None


@dataclasses.dataclass(slots=True)
class Row:
    """One line of the results table; ``data`` holds every measured number for the JSON file."""

    figure: str
    ours: str
    peer: str
    ratio: str
    goal: str
    verdict: str
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def uneven_split(total: int, parts: int, *, seed: int, low: int = 1, high: int = 45) -> list[int]:
    """``parts`` positive sizes between ``low`` and ``high`` summing exactly to ``total`` (deterministic)."""
    if not parts * low <= total <= parts * high:
        raise ValueError("total does not fit the bounds")
    rng = random.Random(seed)
    sizes = [rng.randint(low, high) for _ in range(parts)]
    while (diff := total - sum(sizes)) != 0:
        i = rng.randrange(parts)
        step = 1 if diff > 0 else -1
        if low <= sizes[i] + step <= high:
            sizes[i] += step
    return sizes


def read_json(path: str) -> Any:
    """A JSON file's content (sync on purpose: read before anything is timed)."""
    return json.loads(Path(path).read_text())


def write_json(path: str, value: Any) -> None:
    Path(path).write_text(json.dumps(value))


def current_rss_kib() -> int:
    """Resident set size now, in KiB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far, in KiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def fetch_token(session: Any, url: str) -> str:
    """An access token from the fake's token endpoint, for the raw clients (aiohttp session)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    async with session.post(f"{url}/oauth/v2/token", data=form) as resp:
        body = await resp.json()
    return str(body["access_token"])


def make_crm(url: str, concurrency: int) -> Any:
    """Our client, pointed at the fake, with a budget whose credits never bind (the day is not measured)."""
    from zcrm_async import Budget, ZohoCRM

    return ZohoCRM(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        api_domain=url,
        accounts_url=url,
        budget=Budget(concurrency=concurrency, heavy_concurrency=min(10, concurrency), daily_credits=10**9),
    )


def raw_session(limit: int = 100) -> Any:
    """The raw aiohttp baseline's session: same pool size and cookie handling as our transport's."""
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), cookie_jar=aiohttp.DummyCookieJar())


@contextlib.contextmanager
def baseline_tree(ref: str | None) -> Iterator[tuple[Path | None, str]]:
    """A temporary git worktree of ``ref``, byte-compiled (None and the reason when there is none), removed
    afterwards. Without ``ref``: None, and no reason to give."""
    if ref is None:
        yield None, ""
        return
    if shutil.which("git") is None:
        yield None, "BASELINE NOT RUN: no git"
        return
    with tempfile.TemporaryDirectory(prefix="zcrm-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        added = subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if added.returncode != 0:
            yield None, f"BASELINE NOT RUN: no commit {ref} here ({added.stderr.strip()[-200:]})"
            return
        try:
            compile_tree(tree)
            yield tree, ""
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def compile_tree(tree: Path) -> None:
    """Byte-compile a tree's package before it is timed: where PYTHONDONTWRITEBYTECODE is set, every run would
    compile it anew (a quarter of a 10,000-item CLI run here), which no installed copy does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "zcrm_async")], check=False, timeout=300)


# -- the fake server process --------------------------------------------------------------------------------


class FakeProcess:
    """A FakeZoho in its own process. Use as ``with FakeProcess(spec) as fake:``; ``fake.seed`` is what it made."""

    def __init__(
        self, *, latency_ms: float, concurrency_cap: int, seed: dict[str, Any], timeout: float = 300.0,
        bulk_job_seconds: float = 10.0, server: str = "fake",
    ):  # fmt: skip
        """``server``: ``"fake"`` (FakeZoho) or ``"plain"`` (``plain_server.PlainZoho``, figure 2's reads only)."""
        self._spec = {"latency_ms": latency_ms, "concurrency_cap": concurrency_cap, "seed": seed,
                      "bulk_job_seconds": bulk_job_seconds, "server": server}  # fmt: skip
        self._timeout = timeout
        self._proc: subprocess.Popen[str] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="zcrm-bench-")
        self.url = ""
        #: A JSON file of what was seeded (ids); workers read it (too big for a command line).
        self.seed_file = str(Path(self._tmp.name) / "seed.json")
        self.seed: dict[str, Any] = {}
        self.seed_seconds = 0.0
        self.server_rss_kib = 0

    def __enter__(self) -> FakeProcess:
        spec = dict(self._spec, seed_file=self.seed_file)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_harness", "serve", json.dumps(spec)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self._read_line(self._timeout)
        if not line.startswith("READY "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the fake server did not start: {line!r}")
        ready = json.loads(line[6:])
        self.url = ready["url"]
        self.seed_seconds = ready["seed_seconds"]
        self.server_rss_kib = ready["rss_kib"]
        self.seed = json.loads(Path(self.seed_file).read_text())
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self._tmp.cleanup()

    def _read_line(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not out:
            raise TimeoutError(f"no answer from the fake server in {timeout:.0f} s")
        return out[0].strip()

    def _command(self, command: str) -> str:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._read_line(30)

    def stats(self) -> dict[str, Any]:
        """The fake's counters since the last reset."""
        line = self._command("stats")
        if not line.startswith("STATS "):
            raise RuntimeError(f"unexpected answer to stats: {line!r}")
        result: dict[str, Any] = json.loads(line[6:])
        return result

    def reset(self) -> None:
        self._command("reset")

    def worker_spec(self, **extra: Any) -> dict[str, Any]:
        """The part of a worker's spec that says where the server is."""
        return {"url": self.url, **extra}


def _seed(fake: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Seed the fake as ``spec["kind"]`` says; returns what the benchmarks need to know (ids)."""
    kind = spec["kind"]
    if kind == "world" and not hasattr(fake, "seed_world"):  # the plain server: any numeric id is a contact
        return {"contact_ids": [str(5843104000000500000 + i) for i in range(spec["contacts"])], "emails": 0}
    if kind == "world":
        summary = fake.seed_world(
            contacts=spec["contacts"], emails_per_contact=spec["emails_per_contact"], deals_per_contact=1
        )
        return {"contact_ids": list(summary.contact_ids), "emails": len(summary.message_ids)}
    if kind == "link":
        # Sent emails skip Deal Prediction, and the deal is added after them: every email starts unlinked.
        owner = fake.add_user("Bench Owner")
        groups: dict[str, list[dict[str, Any]]] = {}
        # "even": {name: [contacts, emails each]}, for groups too big to spell out on a command line.
        spelled = {name: [size] * count for name, (count, size) in spec.get("even", {}).items()}
        for group, sizes in {**spec.get("groups", {}), **spelled}.items():
            contacts = []
            for i, size in enumerate(sizes):
                contact = fake.add_contact(f"{group} {i}")
                messages = [fake.add_email(contact, owner, received=False) for _ in range(size)]
                deal = fake.add_deal(f"{group} deal {i}", [contact])
                contacts.append({"contact_id": contact, "deal_id": deal, "message_ids": messages})
            groups[group] = contacts
        return {"owner_id": owner, "groups": groups}
    if kind == "records":
        for i in range(spec["count"]):
            fake.world.add_record(spec["module"], f"Record {i}", email=f"r{i}@example.net")
        return {"records": spec["count"]}
    raise ValueError(f"unknown seed kind {kind!r}")


async def _serve(spec: dict[str, Any]) -> None:
    from zcrm_async.testing import FakeConfig, FakeZoho

    pin_to(SERVER_CPU)
    config = FakeConfig(
        latency=spec["latency_ms"] / 1000,
        concurrency_cap=spec["concurrency_cap"],
        # The benchmarks measure the client, not the org's day: credits and token limits never bind.
        daily_credits=10**9,
        token_refresh_limit=10**6,
        max_active_tokens=10**6,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        bulk_job_seconds=spec.get("bulk_job_seconds", 10.0),
    )
    fake: Any
    if spec.get("server", "fake") == "plain":  # figure 2's second server, written apart from FakeZoho
        from .plain_server import PlainZoho

        fake = PlainZoho(latency=config.latency, cap=config.concurrency_cap, client_id=CLIENT_ID,
                         client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN)  # fmt: skip
    else:
        fake = FakeZoho(config)
    started = time.perf_counter()
    seeded = _seed(fake, spec["seed"])
    seed_seconds = time.perf_counter() - started
    write_json(spec["seed_file"], seeded)
    del seeded
    url = await fake.start("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "")

    threading.Thread(target=read_stdin, daemon=True).start()
    _say("READY " + json.dumps({"url": url, "seed_seconds": seed_seconds, "rss_kib": current_rss_kib()}))
    try:
        while command := await commands.get():
            if command == "stats":
                stats = fake.stats
                _say(
                    "STATS "
                    + json.dumps(
                        {
                            "requests": dict(stats.requests),
                            "responses": {str(k): v for k, v in stats.responses.items()},
                            "throttled_429": stats.throttled_429,
                            "max_in_flight": stats.max_in_flight,
                            "token_refreshes": stats.token_refreshes,
                        }
                    )
                )
            elif command == "reset":
                fake.reset_stats()
                _say("OK")
            else:
                _say(f"ERROR unknown command {command!r}")
    finally:
        await fake.close()


def _say(line: str, stream: IO[str] = sys.stdout) -> None:
    print(line, file=stream, flush=True)


# -- client worker processes --------------------------------------------------------------------------------


def run_worker(
    module: str, spec: dict[str, Any], *, timeout: float, python: str | None = None, library: Path | None = None
) -> dict[str, Any]:
    """Run ``benchmarks.<module>.worker(spec)`` in a fresh process; its JSON result, or ``{"error": ...}``.

    ``library``: a tree whose ``zcrm_async`` the worker imports instead of this one's (the baseline of
    ``--baseline REF``); the benchmark's own code stays this tree's, so both sides run the same measurement."""
    argv = [python or sys.executable, "-m", "benchmarks.bench_harness", "worker", module, json.dumps(spec)]
    env = None if library is None else {**os.environ, LIBRARY_ENV: str(library)}
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"worker {module} did not finish in {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": f"worker {module} failed (exit {done.returncode}): {' | '.join(tail)}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _work(module: str, spec: dict[str, Any]) -> None:
    pin_to(CLIENT_CPU)
    if library := os.environ.get(LIBRARY_ENV):  # before anything imports zcrm_async
        sys.path.insert(0, library)
    target: Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]] = importlib.import_module(
        f"benchmarks.{module}"
    ).worker
    result = asyncio.run(target(spec))
    print(json.dumps(result), flush=True)


@contextlib.contextmanager
def cpu_timer() -> Iterator[dict[str, float]]:
    """Measure this process's CPU and wall time over a block: ``{"cpu": s, "wall": s}`` once it ends.

    With ``ZCRM_BENCH_CPROFILE=PATH`` in the environment the block also runs under ``cProfile`` and its stats go
    to PATH (``benchmarks.profile --cprofile``): the timed part only, without imports and warm-up.
    """
    result: dict[str, float] = {}
    profile_to = os.environ.get(CPROFILE_ENV)
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        yield result
    finally:
        if profiler is not None:
            profiler.disable()
        result["cpu"] = time.process_time() - cpu
        result["wall"] = time.perf_counter() - wall
        if profiler is not None:
            profiler.dump_stats(profile_to)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(json.loads(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "worker":
        _work(argv[1], json.loads(argv[2]))
        return 0
    print("usage: python -m benchmarks.bench_harness serve SPEC | worker MODULE SPEC", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
