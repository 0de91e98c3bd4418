"""Hostile backfill files through the real CLI (a subprocess): each bad row is refused by its line, none crashes
the run, no line is held whole in memory, and a later row keeps its line number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

CONTACT, DEAL, OWNER = "5843104000000425349", "5843104000004382122", "5843104000000424672"
HEADER = "contact_id,message_id,deal_id,deal_name,owner_id,owner_name\n"
LIMIT = 64 * 1024  # the CLI's bound on one row, in bytes

#: Runs the CLI's own main() and reports its peak memory (KiB) on stderr's last line. VmHWM, not ru_maxrss: the
#: latter keeps the peak of the forked pytest through exec.
_MEASURED = (
    "import re, sys\n"
    "from zcrm_async.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "with open('/proc/self/status') as status:\n"
    "    peak = re.search(r'VmHWM:\\s+(\\d+) kB', status.read()).group(1)\n"
    "print(f'peak_kib={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _row(n: int, **over: object) -> dict[str, object]:
    return {"contact_id": CONTACT, "message_id": f"msg{n}", "deal_id": DEAL, "owner_id": OWNER, **over}


def _csv_line(n: int, deal_name: str = "Deal", contact: str = CONTACT) -> str:
    return f"{contact},msg{n},{DEAL},{deal_name},{OWNER},Owner\n"


def _dry_run(path: Path, operation: str = "link", *, measured: bool = False) -> subprocess.CompletedProcess[str]:
    program = ["-c", _MEASURED] if measured else ["-m", "zcrm_async.cli"]
    return subprocess.run(
        [sys.executable, *program, "backfill", operation, str(path), "--dry-run"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "ZCRM_TOKEN_CACHE": "off"},
    )  # fmt: skip


def _assert_refused(result: subprocess.CompletedProcess[str], refusals: Sequence[str], good: int) -> None:
    """Exit 1 (bad rows), each refusal on stderr, ``good`` rows planned, and no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1, result.stderr[-3000:]
    shown = [line.strip() for line in result.stderr.splitlines()]
    for refusal in refusals:
        assert any(line.startswith(refusal) for line in shown), (refusal, shown)
    assert f"{len(refusals)} bad row{'s' if len(refusals) != 1 else ''} (" in result.stderr
    assert f"dry run: {good} item{'s' if good != 1 else ''} would go" in result.stdout


def test_jsonl_rows_that_crashed_the_reader_are_refused_by_their_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps(_row(1)),
        json.dumps(_row(2)).replace(f'"{CONTACT}"', "1" + "0" * 5000),  # an integer of 5,001 digits
        '{"contact_id": ' + "[" * 20_000 + "]" * 20_000 + "}",  # nested past any recursion limit
        json.dumps(_row(4, deal_name="Q1\u2028renewal"), ensure_ascii=False),  # a line separator in a name
        json.dumps(_row(6)).replace('"contact_id"', '"contact_id": "1", "contact_id"'),  # the same key twice
        json.dumps(_row(7, deal_name="D" * 256)),
        json.dumps(_row(8, owner_id="9" * 101)),
        json.dumps(_row(9)),
    ]
    data = "\n".join(lines).encode()
    data = data.replace(b"\n", b'\n{"contact_id": "\xff\xfe"}\n', 1)  # not UTF-8: now line 2, the rest move down
    path.write_bytes(data + b"\n")
    _assert_refused(
        _dry_run(path),
        [
            "line 2 is not UTF-8 text",
            "line 3 has contact_id of 5,001 characters; at most 100 are allowed",
            "line 4 is JSON nested too deeply",
            "line 6 names contact_id more than once",
            "line 7 has deal_name of 256 characters; at most 255 are allowed",
            "line 8 has owner_id of 101 characters",
        ],
        good=3,
    )


def test_csv_rows_that_crashed_the_reader_are_refused_by_their_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    spread = "x" * 30_000
    path.write_text(
        HEADER
        + _csv_line(2)
        + _csv_line(3, deal_name='"' + "y" * 200_000 + '"')  # one field over the csv module's 128 KiB
        + _csv_line(4, deal_name='"Q1\u2028renewal, signed"')  # U+2028 is no line break
        + f'{CONTACT},msg5,{DEAL},"{spread}\n{spread}\n{spread}",{OWNER},Owner\n'  # a quote spread over 3 lines
        + _csv_line(8)
        + _csv_line(9, contact="12x")
        + _csv_line(10, deal_name="N" * 256),
        encoding="utf-8",
    )
    _assert_refused(
        _dry_run(path),
        [
            f"line 3 is over {LIMIT:,} bytes long",
            f"line 5 runs on to line 7, which takes the row over {LIMIT:,} bytes",
            "line 9: contact_id must be a numeric Zoho id",
            "line 10 has deal_name of 256 characters",
        ],
        good=3,
    )


def test_csv_lines_may_end_as_any_spreadsheet_ends_them(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rows = [HEADER, _csv_line(2), _csv_line(3, contact="12x"), _csv_line(4, deal_name='"two\r\nlines"'), _csv_line(6)]
    ends = ["\r", "\r\n", "\r", "\r"]  # a classic Mac file, with a Windows line and a quoted line break in it
    path.write_bytes(b"".join((row[:-1] + end).encode() for row, end in zip(rows, [*ends, "\n"], strict=True)))
    _assert_refused(_dry_run(path), ["line 3: contact_id must be a numeric Zoho id"], good=3)


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "contact_id,message_id,deal_id,owner_id,deal_id\n"
        f"{CONTACT},msg1,{DEAL},{OWNER},5843104000000000001\n",
        encoding="utf-8",
    )
    result = _dry_run(path)
    assert result.returncode == 2, result.stderr
    assert "the CSV header (line 1) names deal_id more than once" in result.stderr
    assert "would go" not in result.stdout


def test_a_huge_line_is_refused_without_being_held(tmp_path: Path) -> None:
    small, huge = tmp_path / "small.jsonl", tmp_path / "huge.jsonl"
    good = json.dumps(_row(2)) + "\n"
    small.write_text(json.dumps(_row(1)) + "\n" + good, encoding="utf-8")
    line_mib = 48
    with huge.open("w", encoding="utf-8") as out:  # one row whose deal_name is 48 MiB, then a good row
        out.write(json.dumps(_row(1))[:-1] + ', "deal_name": "')
        for _ in range(line_mib):
            out.write("z" * (1 << 20))
        out.write('"}\n' + good)
    baseline = _dry_run(small, measured=True)
    assert baseline.returncode == 0, baseline.stderr
    result = _dry_run(huge, measured=True)
    _assert_refused(result, [f"line 1 is over {LIMIT:,} bytes long"], good=1)

    def peak_kib(run: subprocess.CompletedProcess[str]) -> int:
        return int(run.stderr.strip().rsplit("peak_kib=", 1)[1])

    # Held whole, the line alone would take 48 MiB, several times over once decoded and parsed.
    assert peak_kib(result) - peak_kib(baseline) < (line_mib << 10) // 4, (peak_kib(baseline), peak_kib(result))
