"""--help reads well and a mistyped flag is answered by its own command (issue 19, point 12)."""

from __future__ import annotations

import pytest

from tests.cli.first_day import cli

# private on purpose: the CLI's scope table, which its help prints
from zcrm_async.cli._scopes import RECOMMENDED_SCOPES

COMMANDS = [
    ["backfill", "link"], ["backfill", "unlink"], ["backfill", "relink"], ["emails", "export"], ["audit"],
    ["auth", "exchange"], ["auth", "check"], ["demo"], ["fake-server"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_a_description_and_examples(command: list[str]) -> None:
    result = cli(*command, "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    _, _, rest = result.stdout.partition("\n\n")
    description = rest.split("\n\n")[0]
    assert not description.startswith(("options:", "positional arguments:")), result.stdout  # one is there
    assert "\nexamples:\n  zcrm-async " + " ".join(command) in result.stdout


def test_the_scope_string_is_one_piece_to_copy() -> None:
    result = cli("auth", "exchange", "--help", env={"COLUMNS": "80"})
    assert f"\n  {RECOMMENDED_SCOPES}\n" in result.stdout


def test_every_fake_server_flag_has_help_and_shows_its_default() -> None:
    result = cli("fake-server", "--help", env={"COLUMNS": "200"})
    options = result.stdout.split("options:\n", 1)[1]
    blocks: list[list[str]] = []
    for line in options.splitlines():
        if line.startswith("  --"):
            blocks.append([line.strip()])
        elif line.startswith("    ") and blocks:
            blocks[-1].append(line.strip())  # the help, on the flag's line or under it
    assert len(blocks) > 20
    for flag_line, *more in blocks:
        flag, _, text = flag_line.partition("  ")
        text = " ".join([text.strip(), *more]).strip()
        assert text, f"{flag} has no help"
        if not flag.startswith(("--write-sample", "--lenient")):
            assert "(default: " in text, (flag, text)


def test_unlink_does_not_offer_the_deals_module_id() -> None:
    assert "--deals-module-id" not in cli("backfill", "unlink", "--help").stdout
    assert "--deals-module-id" in cli("backfill", "link", "--help").stdout


def test_a_mistyped_flag_shows_its_commands_usage_and_the_nearest_flag() -> None:
    result = cli("backfill", "link", "x.csv", "--dry-rn")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: zcrm-async backfill link ")
    assert result.stderr.rstrip().endswith(
        "zcrm-async backfill link: error: unrecognized arguments: --dry-rn (--dry-rn: did you mean --dry-run?)"
    )


def test_save_and_show_conflict() -> None:
    result = cli("auth", "exchange", "--code", "1000.x", "--save", "f.env", "--show")
    assert result.returncode == 2
    assert "argument --show: not allowed with argument --save" in result.stderr
