"""``python -m benchmarks.profile TARGET [--items N] [--out DIR]``: where a figure's CPU goes, as py-spy sees it.

Each target runs the same client as its figure, against the same fake server process, under ``py-spy record``
(the optional ``bench`` extra): once for a flame graph (``DIR/TARGET.svg``) and once for a table of the functions
that hold the most samples, by their own time and with what they call (``DIR/TARGET.txt``). py-spy samples the
client only; the fake runs in its own process, unsampled.

Targets:

- ``backfill``: ``zcrm-async backfill link`` of ``--items`` rows (20 emails a contact), as figure 7 runs it.
- ``library``: the same input through ``link_deal_stream`` alone, no CLI and no journal (figure 7's yardstick).
- ``fanout``: ``iterate_many`` over 2-page contacts, warm, 25 at a time, as figure 1's fan-out row.
- ``page``: ``page()`` the same way, figure 1's first row.
- ``throughput``: figure 2's 3,000 Get Emails requests at a cap of 20, 50 ms a call.

``--cprofile`` (``throughput`` only) runs the figure's timed block under cProfile instead, for ours and for the
semaphore client, and writes ``DIR/throughput-cprofile.txt``: each client's CPU per request by part of the path
(limiter, credit bucket, token, counters, pipeline, transport, decode, aiohttp, event loop) and the functions with
the most time of their own. cProfile counts every call, so it tells which part costs what per request; it also
slows each Python call, so read the parts' shares and call counts, not their microseconds, as the machine's.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .bench_harness import CLIENT_ID, CLIENT_SECRET, CPROFILE_ENV, REFRESH_TOKEN, ROOT, FakeProcess, run_worker

OUT = Path(__file__).resolve().parent / "profiles"
TARGETS = ("backfill", "library", "fanout", "page", "throughput")
#: Samples a second: enough for a table at 0.5% resolution within a few seconds of run.
RATE = 250
TOP = 40


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--items", type=int, default=100_000, help="rows for backfill and library")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--server", choices=("fake", "plain"), default="fake", help="figure 2's server (--cprofile)")
    parser.add_argument("--cprofile", action="store_true", help="figure 2's timed block under cProfile, by part")
    args = parser.parse_args(argv)
    if args.cprofile:
        if args.target != "throughput":
            parser.error("--cprofile profiles the throughput target")
        args.out.mkdir(parents=True, exist_ok=True)
        table = _cprofile_throughput(args.server, " ".join(["python -m benchmarks.profile", *(argv or sys.argv[1:])]))
        (args.out / f"throughput-cprofile{'-plain' if args.server == 'plain' else ''}.txt").write_text(table)
        print(table)
        return 0
    spy = shutil.which("py-spy", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if spy is None:
        print("py-spy is missing: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for fmt in ("flamegraph", "raw"):
        with _target(args.target, args.items) as (command, env):
            raw = args.out / f"{args.target}.raw.txt"
            output = args.out / f"{args.target}.svg" if fmt == "flamegraph" else raw
            record = [spy, "record", "-r", str(RATE), "-F", "--nonblocking", "-f", fmt, "-o", str(output), "--"]
            subprocess.run([*record, *command], env=env, cwd=ROOT, check=True, timeout=900)
        if fmt == "raw":
            table = _table(raw.read_text(), f"python -m benchmarks.profile {args.target} --items {args.items}")
            (args.out / f"{args.target}.txt").write_text(table)
            raw.unlink()
            print(table)
    return 0


class _target:
    """The fake server, seeded, and the command line of the client to profile (with its environment)."""

    def __init__(self, target: str, items: int) -> None:
        self._target = target
        self._items = items
        self._fake: FakeProcess | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="zcrm-profile-")

    def __enter__(self) -> tuple[list[str], dict[str, str]]:
        target, env = self._target, dict(os.environ)
        python = [sys.executable, "-m"]
        if target in ("backfill", "library"):
            contacts = self._items // 20
            fake = self._start(latency_ms=0, cap=25, seed={"kind": "link", "even": {"rows": [contacts, 20]}})
            path = Path(self._tmp.name) / "links.csv"
            _write_rows(path, fake.seed["groups"]["rows"], fake.seed["owner_id"])
            if target == "library":
                return [*python, "benchmarks.bench_harness", "worker", "bench_backfill_scale",
                        json.dumps(fake.worker_spec(input=str(path)))], env  # fmt: skip
            env |= {"ZOHO_CLIENT_SECRET": CLIENT_SECRET, "ZOHO_REFRESH_TOKEN": REFRESH_TOKEN}
            from zcrm_async.testing import DEALS_MODULE_ID

            return [*python, "zcrm_async.cli", "backfill", "link", str(path), "--report",
                    str(path.with_name("report.jsonl")), "-q", "--api-domain", fake.url, "--accounts-url", fake.url,
                    "--client-id", CLIENT_ID, "--edition", "enterprise", "--users", "1000",
                    "--deals-module-id", DEALS_MODULE_ID], env  # fmt: skip
        if target in ("fanout", "page"):
            fake = self._start(latency_ms=0, cap=1000, seed={"kind": "world", "contacts": 25, "emails_per_contact": 20})
            kind = "fan-out" if target == "fanout" else "ours"
            spec = fake.worker_spec(kind=kind, contact_ids=fake.seed["contact_ids"], n=20_000, warmup=300, deadline=120)
            return [*python, "benchmarks.bench_harness", "worker", "bench_cpu", json.dumps(spec)], env
        fake = self._start(latency_ms=50, cap=20, seed={"kind": "world", "contacts": 50, "emails_per_contact": 10})
        spec = fake.worker_spec(kind="ours", contact_ids=fake.seed["contact_ids"], n=3_000, deadline=60)
        return [*python, "benchmarks.bench_harness", "worker", "bench_throughput", json.dumps(spec)], env

    def _start(self, *, latency_ms: float, cap: int, seed: dict[str, Any]) -> FakeProcess:
        self._fake = FakeProcess(latency_ms=latency_ms, concurrency_cap=cap, seed=seed, timeout=600)
        return self._fake.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._fake is not None:
            self._fake.__exit__(None, None, None)
        self._tmp.cleanup()


def _write_rows(path: Path, contacts: list[dict[str, Any]], owner: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["contact_id", "message_id", "deal_id", "owner_id"])
        for contact in contacts:
            for message_id in contact["message_ids"]:
                writer.writerow([contact["contact_id"], message_id, contact["deal_id"], owner])


def _table(raw: str, command: str) -> str:
    """py-spy's collapsed stacks as two tables: the functions with the most samples of their own, and with the most
    samples of their own or of what they called (each function counted once a stack)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"# {command}", f"# {total} samples at {RATE} a second (py-spy record -F: by function)", ""]
    for title, counter in (("own time", own), ("with what it calls", inclusive)):
        lines += [f"## by {title}", "", f"{'share':>6}  {'samples':>8}  function (file:first line)"]
        for frame, samples in counter.most_common(TOP):
            lines.append(f"{samples / max(1, total):6.1%}  {samples:8d}  {frame}")
        lines.append("")
    return "\n".join(lines)


#: Where a function's time counts, by the first pattern its file (or, for a builtin, its caller's) matches.
_PARTS = (
    ("zcrm_async/_places", "limiter: places in flight"),
    ("zcrm_async/_limits", "limiter: slot, AIMD, credits"),
    ("anyio/", "anyio (checkpoints, scopes, CapacityLimiter)"),
    ("aiolimiter/", "credit bucket (aiolimiter)"),
    ("zcrm_async/_auth", "token"),
    ("zcrm_async/_events", "counters and events"),
    ("zcrm_async/_client", "pipeline (_client: auth, retries, one request)"),
    ("zcrm_async/_transport", "transport wrapper"),
    ("multidict", "transport wrapper"),
    ("zcrm_async/", "facade and decode (emails, validation, msgspec)"),
    ("aiohttp/", "aiohttp"),
    ("yarl/", "aiohttp"),
    ("asyncio/", "event loop"),
    ("selectors", "event loop"),
    ("benchmarks/", "the benchmark's own loop"),
)


def _part(file: str) -> str:
    return next((part for pattern, part in _PARTS if pattern in file), "other")


def _by_part(stats: pstats.Stats, requests: int) -> list[str]:
    """One line a part: its time per request (idle waits left out), share, and calls per request."""
    seconds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for (file, _, name), (_, count, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name == "<method 'poll' of 'select.epoll' objects>":
            continue  # the loop waiting for the network: idle, not work
        if file == "~":  # a builtin: the part of the caller that spent most time in it
            caller = max(callers.items(), key=lambda kv: kv[1][2])[0][0] if callers else "~"
            part = "facade and decode (emails, validation, msgspec)" if "msgspec" in name else _part(caller)
        else:
            part = _part(file)
        seconds[part] += own
        calls[part] += count
    total = sum(seconds.values())
    lines = [f"busy {total:.2f} s = {total / requests * 1e6:.0f} us a request (under cProfile)", "",
             f"{'us/request':>10}  {'share':>6}  {'calls/req':>9}  part"]  # fmt: skip
    for part, spent in seconds.most_common():
        lines.append(f"{spent / requests * 1e6:10.1f}  {spent / total:6.1%}  {calls[part] / requests:9.1f}  {part}")
    return lines


def _cprofile_throughput(server: str, command: str, requests: int = 3_000) -> str:
    """Figure 2's ours and semaphore clients, their timed blocks under cProfile, as tables by part."""
    lines = [f"# {command}", f"# figure 2: {requests} Get Emails reads at a cap of 20, 50 ms a call, {server} server"]
    seed = {"kind": "world", "contacts": 50, "emails_per_contact": 10}
    with tempfile.TemporaryDirectory(prefix="zcrm-cprofile-") as tmp, FakeProcess(
        latency_ms=50, concurrency_cap=20, seed=seed, server=server
    ) as fake:
        for kind in ("ours", "semaphore"):
            fake.reset()
            path = Path(tmp) / f"{kind}.pstats"
            os.environ[CPROFILE_ENV] = str(path)
            try:
                spec = fake.worker_spec(kind=kind, contact_ids=fake.seed["contact_ids"], n=requests, deadline=90)
                result = run_worker("bench_throughput", spec, timeout=150)
            finally:
                del os.environ[CPROFILE_ENV]
            if "error" in result:
                raise RuntimeError(result["error"])
            rate, throttled = result["ok"] / result["wall"], fake.stats()["throttled_429"]
            lines += ["", f"## {kind}: {result['ok']} answered, {rate:.0f} req/s under the profiler, {throttled} x 429",
                      "", *_by_part(pstats.Stats(str(path)), requests), "", "by own time:", ""]  # fmt: skip
            stats = pstats.Stats(str(path))
            own = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
            for (file, line, name), (_, count, spent, _, _) in own[:TOP]:
                where = file.split("site-packages/")[-1].split(str(ROOT) + "/")[-1]
                lines.append(f"{spent / requests * 1e6:8.1f} us  {count / requests:6.2f}/req  {where}:{line} {name}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
