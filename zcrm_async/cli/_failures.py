"""Why a command cannot go on, as the exceptions ``main`` turns into one line and an exit code."""

from __future__ import annotations

from ._exit import EXIT_FAILED, EXIT_REDIS

__all__ = ["RedisFailure", "RunFailure", "UsageError"]


class UsageError(ValueError):
    """The command line or environment is wrong: exit code 2, with a sentence a person can act on."""


class RunFailure(Exception):
    """The run cannot go on (a server unreachable, credentials refused): exit code 1, one line saying why.

    ``keep``: phrases of the line the program wrote itself, shown as they are: a secret that happens to be one of
    their words ("wrong") is masked everywhere else, not in "the client secret is wrong".
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, keep: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.keep = keep


class RedisFailure(RunFailure):
    """Redis (--redis-url) failed or did not answer within --redis-timeout: exit code ``EXIT_REDIS``."""

    exit_code = EXIT_REDIS
