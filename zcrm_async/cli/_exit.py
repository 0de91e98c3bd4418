"""Every exit code of ``zcrm-async``, defined once: one code per cause (sysexits' numbers where one fits).

README's "Exit codes" table lists the same; ``tests/cli/test_cli_exit_codes.py`` provokes each through the CLI.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CREDITS", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_JOURNAL", "EXIT_OK", "EXIT_REDIS", "EXIT_UNREACHABLE",
    "EXIT_USAGE",
]  # fmt: skip

#: Every item succeeded (a dry run: every row is good).
EXIT_OK = 0
#: Some items failed (bad rows included), or the command could not run: a server unreachable at the start,
#: the credentials refused, Zoho refused the call.
EXIT_FAILED = 1
#: Bad usage, found before any request and leaving no file behind: a flag, an unreadable input, a journal of
#: another run or of an edited file, missing credentials, an unknown data centre, an unwritable output.
EXIT_USAGE = 2
#: Zoho's API stopped answering mid-run (--unreachable-after); the same command continues once it answers
#: (sysexits' EX_NOHOST: the host cannot be reached).
EXIT_UNREACHABLE = 68
#: Redis (--redis-url) failed or did not answer within --redis-timeout; the same command continues once it is
#: back (sysexits' EX_UNAVAILABLE).
EXIT_REDIS = 69
#: The journal failed after it was opened (a corrupt page, a full disk, a read-only file) (sysexits' EX_IOERR).
EXIT_JOURNAL = 74
#: The day's API credits ran out; the run stopped cleanly and the same command continues it (EX_TEMPFAIL).
EXIT_CREDITS = 75
#: Interrupted (Ctrl-C, SIGINT): every answer that came is recorded; the same command resumes (128 + SIGINT).
EXIT_INTERRUPTED = 130
