"""The connection a command line describes: flags first, then the environment, then the env file ``auth
exchange`` wrote. The only env reader.
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from .. import DATA_CENTRES, read_env_file
from ..validation import checked_pinned_url
from ._connect import Connection
from ._failures import UsageError
from ._settings import CACHE_OFF, DEFAULT_REDIS_TIMEOUT, DEFAULT_TOKEN_WAIT, ENV, default_env_file, default_token_cache

__all__ = ["connection_from"]


def connection_from(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Connection:
    """The connection the flags, the environment and the env file describe, in that order of precedence.

    ``env_file`` (default: the one ``auth exchange`` writes, ``~/.config/zcrm-async/zoho.env``) fills in only what
    neither a flag nor a variable gives, so a new shell after ``auth exchange`` needs nothing loaded.
    """
    env = _with_env_file(os.environ if environ is None else environ, env_file)

    def pick(name: str) -> str | None:
        value = getattr(args, name, None)
        return str(value) if value else env.get(ENV[name]) or None

    if getattr(args, "users", 1) < 1:
        raise UsageError("--users must be at least 1")
    api_domain, accounts_url = pick("api_domain"), pick("accounts_url")
    _check_destinations(api_domain, accounts_url)
    return Connection(
        client_id=pick("client_id"),
        client_secret=pick("client_secret"),
        refresh_token=pick("refresh_token"),
        data_centre=_data_centre(args, env),
        api_domain=api_domain.rstrip("/") if api_domain else None,
        accounts_url=accounts_url.rstrip("/") if accounts_url else None,
        edition=getattr(args, "edition", "enterprise"),
        users=getattr(args, "users", 1),
        redis_url=getattr(args, "redis_url", None),
        org=getattr(args, "org", "default"),
        token_cache=_token_cache(args, env),
        token_wait=_token_wait(args, env),
        redis_timeout=_redis_timeout(args),
    )


def _with_env_file(environ: Mapping[str, str], env_file: Path | None) -> Mapping[str, str]:
    """The environment, with what the env file sets for the variables the CLI reads beneath it.

    Raises:
        UsageError: the file cannot be read, or a line is not one a shell would read the same way (``read_env_file``
            names its number, never its text: it may hold a secret).
    """
    path = env_file if env_file is not None else default_env_file()
    try:
        saved = read_env_file(path)
    except FileNotFoundError:
        return environ
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the env file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise UsageError(f"the env file {path}: {exc}") from None
    wanted = {name: value for name, value in saved.items() if name in ENV.values()}
    return {**wanted, **environ} if wanted else environ


def _data_centre(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    name, source = (
        (args.data_centre, "--dc")
        if getattr(args, "data_centre", None)
        else (env.get(ENV["data_centre"]), ENV["data_centre"])
    )
    if not name:
        return "us"
    key = name.strip().lower()
    if key not in DATA_CENTRES:
        regions = ", ".join(name for name in DATA_CENTRES if "-" not in name)
        raise UsageError(f"unknown data centre {name!r} ({source}); expected one of {regions}, or e.g. eu-sandbox")
    return key


def _zoho_hosts() -> frozenset[str]:
    hosts = set()
    for dc in DATA_CENTRES.values():
        hosts.add(urllib.parse.urlsplit(dc.accounts_url).hostname or "")
        hosts.add(urllib.parse.urlsplit(dc.api_domain).hostname or "")
    return frozenset(hosts)


def _check_destinations(api_domain: str | None, accounts_url: str | None) -> None:
    """Refuse a half-pointed client: the missing half would send the credentials (or the work) to Zoho."""
    for flag, url in (("--api-domain", api_domain), ("--accounts-url", accounts_url)):
        if url is not None:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"{flag} {url!r} is not an http(s) URL, e.g. https://www.zohoapis.eu")
            try:
                checked_pinned_url(url, flag)  # the library's rule: plain http only on this machine
            except ValueError as exc:
                raise UsageError(str(exc)) from None
    zoho = _zoho_hosts()
    if api_domain and not accounts_url and urllib.parse.urlsplit(api_domain).hostname not in zoho:
        raise UsageError(
            f"--api-domain {api_domain} is not a Zoho server: add --accounts-url (or {ENV['accounts_url']}) for the "
            "server that issues its tokens, or the credentials would go to Zoho's accounts server"
        )
    if accounts_url and not api_domain and urllib.parse.urlsplit(accounts_url).hostname not in zoho:
        raise UsageError(
            f"--accounts-url {accounts_url} is not a Zoho server: add --api-domain (or {ENV['api_domain']}) for its "
            "API server, or the work would go to Zoho's API"
        )


def _token_cache(args: argparse.Namespace, env: Mapping[str, str]) -> Path | None:
    if getattr(args, "no_token_cache", False):
        return None
    if getattr(args, "token_cache", None) is not None:
        return Path(args.token_cache)
    value = env.get(ENV["token_cache"])
    if value is None:
        return default_token_cache()
    return None if value.strip().lower() in CACHE_OFF else Path(value).expanduser()


def _redis_timeout(args: argparse.Namespace) -> float:
    timeout = float(getattr(args, "redis_timeout", DEFAULT_REDIS_TIMEOUT))
    if not 1 <= timeout <= 600:  # above the limiter's 0.5 s wait for a slot (a BLPOP), which it must outlast
        raise UsageError("--redis-timeout must be between 1 and 600 seconds")
    return timeout


def _token_wait(args: argparse.Namespace, env: Mapping[str, str]) -> float:
    given = getattr(args, "token_wait", None)
    source = "--token-wait"
    if given is None and env.get(ENV["token_wait"]):
        source = ENV["token_wait"]
        try:
            given = float(env[ENV["token_wait"]])
        except ValueError:
            raise UsageError(f"{source} must be a number of seconds, not {env[ENV['token_wait']]!r}") from None
    if given is None:
        return DEFAULT_TOKEN_WAIT
    if not 0 <= given <= 3600:
        raise UsageError(f"{source} must be between 0 and 3600 seconds")
    return float(given)
