"""What of a command line or a refusal is a secret: values of the secret flags, a password in a URL, and the
library's own fixed words that are not.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping, Sequence

from .. import AuthenticationError
from ._settings import ENV

__all__ = ["own_words", "password_in", "secrets_in"]


#: OAuth's error codes (RFC 6749, as Zoho's accounts server answers them) for which the library's message is its
#: own fixed sentence, never the server's text: it holds no secret.
_FIXED_MESSAGES = frozenset({"invalid_code", "invalid_client", "invalid_client_secret"})


def own_words(exc: AuthenticationError) -> tuple[str, ...]:
    """The phrases of a refusal's message that are the library's own fixed words (``RunFailure.keep``)."""
    return (exc.message,) if exc.code in _FIXED_MESSAGES else ()


def password_in(url: str | None) -> str | None:
    try:
        return urllib.parse.urlsplit(url).password if url else None
    except ValueError:  # not a URL Redis could use either; the whole of it is a secret already
        return None


_SECRET_FLAGS = ("--client-secret", "--refresh-token", "--redis-url")


def _flag_name(flag: str) -> str:
    """A flag as typed, without its dashes, underscores and case: "--Refresh_Token" is "refreshtoken"."""
    return flag.lstrip("-").replace("-", "").replace("_", "").lower()


_SECRET_NAMES = tuple(_flag_name(flag) for flag in _SECRET_FLAGS)


def secrets_in(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets a failed command line may hold: values of the secret flags, and the secret variables.

    Used before arguments could be parsed, so an argparse message never echoes one.
    """
    env = os.environ if environ is None else environ
    found = [env.get(ENV[name], "") for name in ("client_secret", "refresh_token")]
    for index, arg in enumerate(argv):
        flag, _, value = arg.partition("=")
        name = _flag_name(flag)
        # A secret flag mistyped ("--refresh_token", "--Client-Secret") or cut short ("--client-s") is unknown to
        # argparse, which echoes it with its value.
        if flag.startswith("-") and name and any(secret.startswith(name) for secret in _SECRET_NAMES):
            found.append(value if value else (argv[index + 1] if index + 1 < len(argv) else ""))
    return [value for value in found if value]
