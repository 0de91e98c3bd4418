"""Where the CLI gets its credentials and budget: flags first, then the environment. The only env reader.

Credentials only go where the user pointed them: an API domain outside Zoho's data centres without an accounts
server (or the reverse) is refused, since the other half would default to Zoho's real servers. Access tokens
are cached between runs (``FileTokenStore.for_client`` under the user's cache folder), so a run while the cached
token is valid asks the token endpoint nothing; ``Connection.open`` checks the credentials (at most one refresh)
and that the API server can be reached before a command does any work.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import os
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from .. import (
    DATA_CENTRES,
    EDITIONS,
    AuthenticationError,
    Budget,
    DataCentre,
    FileTokenStore,
    RedisUnavailable,
    TransportError,
    ZohoCRM,
    read_env_file,
)
from ..validation import checked_pinned_url
from ._exit import EXIT_FAILED, EXIT_REDIS

__all__ = [
    "Connection",
    "RedisFailure",
    "RunFailure",
    "UsageError",
    "add_connection_arguments",
    "check_writable",
    "connection_from",
    "default_env_file",
    "default_token_cache",
    "own_words",
    "reach",
    "secrets_in",
]

ENV = {
    "client_id": "ZOHO_CLIENT_ID",
    "client_secret": "ZOHO_CLIENT_SECRET",
    "refresh_token": "ZOHO_REFRESH_TOKEN",
    "data_centre": "ZOHO_DC",
    "api_domain": "ZOHO_API_DOMAIN",
    "accounts_url": "ZOHO_ACCOUNTS_URL",
    "token_cache": "ZCRM_TOKEN_CACHE",
    "token_wait": "ZCRM_TOKEN_WAIT",
}
#: ZCRM_TOKEN_CACHE set to one of these turns the cache off.
CACHE_OFF = ("", "off", "no", "0", "false")
#: How long the CLI waits out Zoho's token throttle unless told otherwise (--token-wait).
DEFAULT_TOKEN_WAIT = 60.0
#: How long reaching a server may take before it counts as unreachable.
REACH_TIMEOUT = 10.0
#: How long connecting to Redis, or one Redis command, may take before Redis counts as failed (--redis-timeout):
#: a healthy Redis answers in milliseconds, and without a bound a paused one would hold the run forever.
DEFAULT_REDIS_TIMEOUT = 10.0


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


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """Everything needed to build a client. ``repr`` never shows the secrets."""

    client_id: str | None
    client_secret: str | None = dataclasses.field(repr=False)
    refresh_token: str | None = dataclasses.field(repr=False)
    data_centre: str
    api_domain: str | None
    accounts_url: str | None
    edition: str
    users: int
    redis_url: str | None = dataclasses.field(repr=False)
    org: str = "default"
    #: The folder of cached access tokens; None: no cache (each run refreshes once).
    token_cache: Path | None = None
    token_wait: float = DEFAULT_TOKEN_WAIT
    redis_timeout: float = DEFAULT_REDIS_TIMEOUT

    @property
    def centre(self) -> DataCentre:
        return DATA_CENTRES[self.data_centre]

    @property
    def accounts(self) -> str:
        """The accounts server credentials are sent to."""
        return (self.accounts_url or self.centre.accounts_url).rstrip("/")

    @property
    def secrets(self) -> tuple[str | None, ...]:
        # The Redis URL's password on its own too: a message may name it without the rest of the URL; and a
        # password written into a server's URL (http://user:pass@host), which "cannot reach URL" would echo.
        return (
            self.client_secret, self.refresh_token, self.redis_url, _password_in(self.redis_url),
            _password_in(self.accounts_url), _password_in(self.api_domain),
        )  # fmt: skip

    def budget(self) -> Budget:
        return Budget.for_edition(self.edition, users=self.users)

    def check(self) -> None:
        """Raise ``UsageError`` naming the missing credentials (their names, never values)."""
        missing = [ENV[name] for name in ("client_id", "client_secret", "refresh_token") if not getattr(self, name)]
        if missing:
            flags = ", ".join(f"--{name.lower().removeprefix('zoho_').replace('_', '-')} or {name}" for name in missing)
            raise UsageError(
                f"missing credentials: pass {flags} (or run `zcrm-async auth exchange`, which saves them in "
                f"{default_env_file()}, read by every command)"
            )

    @asynccontextmanager
    async def open(self) -> AsyncIterator[ZohoCRM]:
        """An entered client for this connection; with --redis-url, on a shared Redis limiter and token store.

        Raises:
            UsageError: a credential is missing, or --redis-url is given but Redis support is unavailable.
        """
        self.check()
        budget = self.budget()
        async with AsyncExitStack() as stack:
            extra: dict[str, Any] = {}
            if self.redis_url:
                redis_module = _import_redis()
                limiter = await stack.enter_async_context(
                    redis_module.RedisLimiter.from_url(
                        self.redis_url, budget, org=self.org, client_id=self.client_id, timeout=self.redis_timeout
                    )
                )
                store = redis_module.RedisTokenStore(
                    limiter.redis, org=self.org, client_id=self.client_id, refresh_token=self.refresh_token
                )
                extra = {"limiter": limiter, "token_store": store}
            elif self.token_cache is not None:
                extra = {"token_store": self.token_store()}
            crm = ZohoCRM(
                client_id=self.client_id,
                client_secret=self.client_secret,
                refresh_token=self.refresh_token,
                data_centre=self.data_centre,
                api_domain=self.api_domain,
                accounts_url=self.accounts_url,
                budget=budget,
                token_wait=self.token_wait,
                **extra,
            )
            async with crm:
                await self.preflight(crm)
                yield crm

    def token_store(self) -> FileTokenStore:
        """This client's file in the token cache (named by accounts server, client id and a hash)."""
        assert self.token_cache is not None and self.client_id and self.refresh_token
        return FileTokenStore.for_client(
            self.token_cache, accounts_url=self.accounts, client_id=self.client_id, refresh_token=self.refresh_token
        )

    async def preflight(self, crm: ZohoCRM) -> None:
        """Credentials accepted (the cached token, or one refresh) and the API server reachable, before any work.

        Raises:
            RunFailure: a server cannot be reached, or Zoho refused the credentials.
        """
        if not await self._cached_token_is_fresh():
            await reach(self.accounts, "the accounts server")  # at once, not after the token endpoint's retries
        try:
            await crm.authenticate()
        except RedisUnavailable as exc:  # the shared token store, not the accounts server
            raise RedisFailure(f"cannot use Redis (--redis-url): {exc}") from None
        except TransportError as exc:
            raise RunFailure(f"cannot reach the accounts server {self.accounts}: {exc}") from None
        except AuthenticationError as exc:
            raise RunFailure(self.explain_refusal(exc), keep=own_words(exc)) from None
        if not (crm.token_refreshes and _same_server(crm.api_domain, self.accounts)):
            await reach(crm.api_domain, "the API server")  # (a refresh from the same server already reached it)

    async def _cached_token_is_fresh(self) -> bool:
        if self.token_cache is None or self.redis_url:
            return False
        token = await self.token_store().load()
        return token is not None and token.is_fresh(time.time())

    def explain_refusal(self, exc: AuthenticationError) -> str:
        retry_at = exc.details.get("retry_at")
        if isinstance(retry_at, float):
            wait = max(0, int(retry_at - time.time()) + 1)
            when = datetime.datetime.fromtimestamp(retry_at, datetime.UTC).strftime("%H:%M:%S UTC")
            return (
                f"Zoho's accounts server {self.accounts} refuses new access tokens for now (10 per refresh token "
                f"per 10 minutes); run again from {when}, or pass --token-wait {wait} to wait for it here"
            )
        return f"Zoho's accounts server {self.accounts} refused the credentials: {exc.message}"


#: OAuth's error codes (RFC 6749, as Zoho's accounts server answers them) for which the library's message is its
#: own fixed sentence, never the server's text: it holds no secret.
_FIXED_MESSAGES = frozenset({"invalid_code", "invalid_client", "invalid_client_secret"})


def own_words(exc: AuthenticationError) -> tuple[str, ...]:
    """The phrases of a refusal's message that are the library's own fixed words (``RunFailure.keep``)."""
    return (exc.message,) if exc.code in _FIXED_MESSAGES else ()


def _password_in(url: str | None) -> str | None:
    try:
        return urllib.parse.urlsplit(url).password if url else None
    except ValueError:  # not a URL Redis could use either; the whole of it is a secret already
        return None


def _same_server(one: str, other: str) -> bool:
    first, second = urllib.parse.urlsplit(one), urllib.parse.urlsplit(other)
    return (first.scheme, first.hostname, first.port) == (second.scheme, second.hostname, second.port)


def check_writable(path: Path, flag: str, *, folder_too: bool = False) -> None:
    """Refuse, before any work, an output file that could not be written at the end (its work would be lost).

    ``folder_too``: the folder must be writable even when the file exists (SQLite writes its ``-wal`` beside it).

    Raises:
        UsageError: the file is a folder or read-only, or its folder is missing or read-only (a read-only
            filesystem included: ``access`` answers EROFS there, even for root).
    """
    if path.is_dir():
        raise UsageError(f"cannot write {flag} {path}: it is a folder")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write {flag} {path}: the file is read-only")
        if not folder_too:
            return
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {flag} {path}: the folder {folder} is not writable")


async def reach(url: str, what: str) -> None:
    """Open (and close) a TCP connection to the server of ``url``.

    Raises:
        RunFailure: it cannot be reached within ``REACH_TIMEOUT``, naming it and why.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with anyio.fail_after(REACH_TIMEOUT):
            stream = await anyio.connect_tcp(parts.hostname or "", port)
    except TimeoutError:
        raise RunFailure(f"cannot reach {what} {url}: no answer within {REACH_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise RunFailure(f"cannot reach {what} {url}: {exc.strerror or exc}") from None
    await stream.aclose()


def _import_redis() -> Any:
    """``zcrm_async.redis``, imported only when asked for: it needs the optional ``redis`` package."""
    try:
        return importlib.import_module("zcrm_async.redis")
    except ImportError as exc:
        raise UsageError(f"--redis-url needs the redis package (pip install 'zcrm_async[redis]'): {exc.msg}") from None


def add_connection_arguments(
    parser: argparse.ArgumentParser, *, refresh_token: bool = True, budget: bool = True
) -> None:
    """The options of a command that talks to Zoho (``auth`` takes no budget, ``auth exchange`` no refresh token)."""
    group = parser.add_argument_group("connection (flags win over the environment)")
    group.add_argument("--client-id", help="OAuth client id (env ZOHO_CLIENT_ID)")
    group.add_argument("--client-secret", help="OAuth client secret (env ZOHO_CLIENT_SECRET)")
    if refresh_token:
        group.add_argument("--refresh-token", help="OAuth refresh token (env ZOHO_REFRESH_TOKEN)")
    group.add_argument(
        "--dc", dest="data_centre",
        help="data centre: us, eu, in, au, jp, cn, ca, sa, or e.g. eu-sandbox (env ZOHO_DC; default: us)",
    )  # fmt: skip
    group.add_argument(
        "--api-domain", help="API server, e.g. http://127.0.0.1:8080; outside Zoho needs --accounts-url too "
        "(env ZOHO_API_DOMAIN)"
    )  # fmt: skip
    group.add_argument(
        "--accounts-url", help="OAuth server; outside Zoho needs --api-domain too (env ZOHO_ACCOUNTS_URL)"
    )
    if budget:
        group.add_argument(
            "--edition", default="enterprise", choices=sorted(EDITIONS), help="the org's edition (default: %(default)s)"
        )
        group.add_argument("--users", type=int, default=1, help="user licences, for the daily credits (default: 1)")
        group.add_argument("--redis-url", help="share the budget and token with other processes through Redis")
        group.add_argument(
            "--redis-timeout", type=float, default=DEFAULT_REDIS_TIMEOUT, metavar="SECONDS",
            help="longest wait for Redis to connect or answer before the run stops (default: %(default)g)",
        )  # fmt: skip
        group.add_argument(
            "--org", default="default",
            help="the org's name in Redis keys, shared by its processes (default: %(default)s)",
        )  # fmt: skip
    add_token_arguments(group, wait=refresh_token)
    if budget:  # the commands that run work show progress
        group.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary and errors")


def add_token_arguments(group: Any, *, wait: bool = True) -> None:
    """The token cache, and the throttle wait for a command that refreshes tokens."""
    group.add_argument(
        "--token-cache", type=Path, metavar="DIR",
        help=f"folder of cached access tokens (env {ENV['token_cache']}; default: {default_token_cache()})",
    )  # fmt: skip
    group.add_argument(
        "--no-token-cache", action="store_true", help=f"keep no token between runs (or {ENV['token_cache']}=off)"
    )
    if not wait:
        return
    group.add_argument(
        "--token-wait", type=float, metavar="SECONDS",
        help=f"longest wait for Zoho's token throttle (env {ENV['token_wait']}; default: {DEFAULT_TOKEN_WAIT:g})",
    )  # fmt: skip


def default_token_cache() -> Path:
    """``$XDG_CACHE_HOME/zcrm-async/tokens`` (``~/.cache/...`` by default)."""
    from platformdirs import user_cache_path

    return user_cache_path("zcrm-async", appauthor=False) / "tokens"


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


def default_env_file() -> Path:
    """Where ``auth exchange`` keeps the credentials: ``$XDG_CONFIG_HOME/zcrm-async/zoho.env``."""
    from platformdirs import user_config_path

    return user_config_path("zcrm-async", appauthor=False) / "zoho.env"


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
