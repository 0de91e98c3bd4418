"""``zcrm-async auth exchange|check``: connect an org, then check the connection.

``exchange`` turns a Self Client grant code into a refresh token and keeps it in a private env file (shown only
with ``--show``), with the first access token in the token cache. ``check`` refreshes once, then says which data
centre and API domain the org is on, which scopes Zoho granted, and whether each command has the scopes it needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import urllib.parse
from pathlib import Path
from typing import Any

from .. import (
    DATA_CENTRES,
    AccessToken,
    AuthenticationError,
    FileTokenStore,
    Grant,
    TransportError,
    env_file_problem,
    exchange_grant_code,
    write_env_file,
)
from ._args import add_connection_arguments
from ._connect import Connection
from ._failures import RunFailure, UsageError
from ._help import examples
from ._output import Output
from ._preflight import reach
from ._scopes import COMMAND_SCOPES, NEEDED_UNLESS, OPTIONAL, RECOMMENDED_SCOPES, missing_scopes, parse_scopes
from ._secrets import own_words
from ._settings import ENV, default_env_file

__all__ = ["add_auth_commands", "auth_command", "default_env_file"]


def add_auth_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    auth = commands.add_parser("auth", help="connect an org: a grant code to a refresh token; check a setup")
    actions = auth.add_subparsers(dest="auth_command", required=True, metavar="ACTION")
    exchange = actions.add_parser(
        "exchange", parents=[_connection(parser_class, refresh_token=False)],
        help="turn a Self Client grant code into a refresh token, kept in a private env file",
        description="Turn a grant code (API console > Self Client > Generate Code) into a refresh token, saved "
        "with the client id and secret in a private env file that every command reads. Needs the client id and "
        f"secret and the data centre. The scopes to give the grant code, one line:\n  {RECOMMENDED_SCOPES}",
        epilog=examples("auth exchange"),
    )  # fmt: skip
    exchange.add_argument("--code", required=True, help="the grant code (used once; it lasts a few minutes)")
    exchange.add_argument("--redirect-uri", help="only for a server-based client: its registered redirect URI")
    where = exchange.add_mutually_exclusive_group()
    where.add_argument(
        "--save", type=Path, metavar="FILE",
        help=f"the env file (mode 0600) to write the credentials to (default: {default_env_file()})",
    )  # fmt: skip
    exchange.add_argument("--force", action="store_true", help="replace the env file if it exists")
    where.add_argument(
        "--show", action="store_true", help="print the refresh token on stdout instead of saving it (no file)"
    )
    check_text = "refresh once; show the data centre, API domain, scopes granted and what each command needs"
    actions.add_parser(
        "check", parents=[_connection(parser_class, refresh_token=True)], help=check_text,
        description=f"{check_text}. Exit code 1 when a command lacks a scope it needs.", epilog=examples("auth check"),
    )  # fmt: skip


def _connection(parser_class: type[argparse.ArgumentParser], *, refresh_token: bool) -> argparse.ArgumentParser:
    parent = parser_class(add_help=False)
    add_connection_arguments(parent, refresh_token=refresh_token, budget=False)
    return parent


async def auth_command(args: argparse.Namespace, connection: Connection, output: Output) -> int:
    if args.auth_command == "exchange":
        return await exchange(args, connection, output)
    return await check(connection, output)


# -- exchange ----------------------------------------------------------------------------------------------


async def exchange(args: argparse.Namespace, connection: Connection, output: Output) -> int:
    """Every output is checked before the code is sent (it works once): the env file must be writable, and a token
    cache that is not is turned off. After the exchange the env file is written first and the cache after it, as a
    best effort; if the env file cannot be written the refresh token is printed once, with why."""
    if not (connection.client_id and connection.client_secret):
        raise UsageError(
            f"auth exchange needs --client-id and --client-secret (or {ENV['client_id']} and "
            f"{ENV['client_secret']}): the API console shows them under Self Client > Client Secret"
        )
    target = None if args.show else (args.save or default_env_file())
    if target is not None:  # a value the file cannot hold is refused too: a placeholder stands for the token
        _check_env_target(target, _env_values(connection, "1000.placeholder"), force=args.force)
    connection = _usable_cache(connection, output)
    output.add_secrets(args.code)
    await reach(connection.accounts, "the accounts server")  # one tidy line for a dead server, as backfill says
    grant = await _exchange(args, connection)
    output.add_secrets(grant.refresh_token, grant.access_token.value if grant.access_token else None)
    facts = f"API domain {grant.api_domain or '(not given)'}; scopes {grant.scope or '(not stated by Zoho)'}"
    if target is None:
        _print_token(output, grant, f"refresh token printed above; {facts}. Keep it private: it opens the org "
                     "until revoked.")  # fmt: skip
    else:
        try:
            write_env_file(target, _env_values(connection, grant.refresh_token), comments=_COMMENTS, replace=True)
        except (OSError, ValueError) as exc:
            _print_token(output, grant, f"could not save the refresh token to {target} "
                         f"({getattr(exc, 'strerror', None) or exc}): it is printed above, once; keep it "
                         "private and put it in ZOHO_REFRESH_TOKEN")  # fmt: skip
            await _cache(connection, grant, output)
            return 1
        output.result(f"refresh token saved to {target} (mode 0600) with the client id, secret and servers; {facts}")
        output.result(f"use it in a shell with:  set -a; . {target}; set +a   then:  zcrm-async auth check")
    await _cache(connection, grant, output)
    return 0


async def _exchange(args: argparse.Namespace, connection: Connection) -> Grant:
    assert connection.client_id and connection.client_secret
    try:
        return await exchange_grant_code(
            args.code, client_id=connection.client_id, client_secret=connection.client_secret,
            accounts_url=connection.accounts, redirect_uri=args.redirect_uri,
        )  # fmt: skip
    except TransportError as exc:
        raise RunFailure(f"cannot reach the accounts server {connection.accounts}: {exc}") from None
    except AuthenticationError as exc:
        if exc.code == "INVALID_TOKEN_VALUE":
            raise RunFailure(f"the accounts server {connection.accounts} answered {exc.message}") from None
        raise RunFailure(
            f"Zoho's accounts server {connection.accounts} refused the grant code: {exc.message}",
            keep=own_words(exc),
        ) from None


def _print_token(output: Output, grant: Grant, why: str) -> None:
    # The only line on stdout; the alphabet check let nothing through a terminal reads specially, and shown()
    # would escape it if it had (shown() would also redact it, hence the raw write).
    output.console.file.write(grant.refresh_token + "\n")
    output.console.file.flush()
    output.error(why)


def _check_env_target(path: Path, values: dict[str, str], *, force: bool) -> None:
    """Refuse, before the code is spent, an env file that could not be written."""
    if path.exists() and not force and not path.is_dir():
        raise UsageError(f"{path} exists; pass --save ANOTHER_FILE, or --force to replace it")
    if (problem := env_file_problem(path, values, comments=_COMMENTS, replace=force)) is not None:
        raise UsageError(f"cannot write --save {path}: {problem}")


_COMMENTS = (
    "zcrm-async credentials for one Zoho org (written by `zcrm-async auth exchange`). Keep this file private:",
    "the refresh token works until it is revoked (API console > Self Client, or Zoho Accounts > Sessions).",
    "Each value is in single quotes: sourcing this file sets these variables and runs nothing.",
)


def _env_values(connection: Connection, refresh_token: str) -> dict[str, str]:
    values = {
        ENV["client_id"]: connection.client_id or "",
        ENV["client_secret"]: connection.client_secret or "",
        ENV["refresh_token"]: refresh_token,
        ENV["data_centre"]: connection.data_centre,
    }
    if connection.accounts_url:
        values[ENV["accounts_url"]] = connection.accounts_url
    if connection.api_domain:
        values[ENV["api_domain"]] = connection.api_domain
    return values


def _usable_cache(connection: Connection, output: Output) -> Connection:
    """The connection, without its token cache when the cache could not be written (said once)."""
    if connection.token_cache is None:
        return connection
    if (problem := FileTokenStore.folder_problem(connection.token_cache)) is None:
        return connection
    output.error(f"zcrm-async: warning: the token cache {connection.token_cache} is not used: {problem}")
    return dataclasses.replace(connection, token_cache=None)


async def _cache(connection: Connection, grant: Grant, output: Output) -> None:
    """The first access token into the token cache, if it can be: a later run then needs no refresh."""
    if connection.token_cache is None or grant.access_token is None:
        if grant.access_token is None:
            output.error("the first access token could not be sent in an HTTP header: not cached (the first run "
                         "refreshes it)")  # fmt: skip
        return
    store = dataclasses.replace(connection, refresh_token=grant.refresh_token).token_store()
    await store.save(grant.access_token)  # best-effort: a failure is a warning
    if await store.load() == grant.access_token:
        output.error(f"first access token cached in {store.path}")  # a diagnostic: stdout holds only the answer


# -- check -------------------------------------------------------------------------------------------------


async def check(connection: Connection, output: Output) -> int:
    """Refresh (always: a cached token would not prove the secret), then report; 1 when a scope is missing."""
    connection.check()
    fresh = dataclasses.replace(connection, token_cache=None, redis_url=None)
    async with fresh.open() as crm:  # one refresh, and the API server reached
        token = await crm.authenticate()
        api_domain = crm.api_domain
    if connection.token_cache is not None:
        await connection.token_store().save(token)
    output.result(f"accounts server: {connection.accounts} ({_centre_of(connection.accounts, api_domain)})")
    output.result(f"API domain: {api_domain} (reachable)")
    output.result(
        f"credentials: accepted; a new access token is valid for {token.lifetime / 60:.0f} min{_where(connection)}"
    )
    return _report_scopes(output, token)


def _where(connection: Connection) -> str:
    if connection.redis_url:
        return " (commands with --redis-url share theirs in Redis)"
    if connection.token_cache is None:
        return " (token cache off: each run refreshes once)"
    return f", cached in {connection.token_store().path}"


def _centre_of(accounts: str, api_domain: str) -> str:
    for name, dc in DATA_CENTRES.items():
        if dc.api_domain == api_domain and dc.accounts_url == accounts:
            return f"data centre {name}"
    host = urllib.parse.urlsplit(accounts).hostname
    for name, dc in DATA_CENTRES.items():
        if urllib.parse.urlsplit(dc.accounts_url).hostname == host:
            return f"data centre {name.split('-')[0]}, API domain not its usual {dc.api_domain}"
    return "not one of Zoho's data centres"


def _report_scopes(output: Output, token: AccessToken) -> int:
    """One line per command: ok, or the scopes it lacks. 1 when a command lacks one (0 when Zoho did not say)."""
    if not token.scope:
        output.result("scopes granted: not stated by Zoho with this token; a command lacking one fails with "
                      "OAUTH_SCOPE_MISMATCH. What each command needs:")  # fmt: skip
        for command, needs in COMMAND_SCOPES.items():
            output.result(f"  {command}: needs {', '.join(needs)}")
        return 0
    granted = sorted(parse_scopes(token.scope))
    output.result(f"scopes granted: {token.scope}")
    short = 0
    for command, needs in COMMAND_SCOPES.items():
        missing = missing_scopes(granted, needs)
        needs_text = ", ".join(needs)
        if command in NEEDED_UNLESS:
            scope, flag, variable = NEEDED_UNLESS[command]
            needs_text += f", {scope} (unless {flag} or {variable} is given)"
            if not os.environ.get(variable) and missing_scopes(granted, [scope]):
                missing.append(f"{scope} (or pass {flag} ID)")
        short += bool(missing) and not command.endswith(OPTIONAL)
        verdict = "ok" if not missing else f"MISSING {', '.join(missing)}"
        output.result(f"  {command}: {verdict} (needs {needs_text})")
    if short:
        output.result(f"generate a new grant code with: {RECOMMENDED_SCOPES}")
    return 0 if not short else 1
