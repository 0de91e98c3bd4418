"""``zcrm-async auth exchange|check``: connect an org, then check the connection.

``exchange`` turns a Self Client grant code into a refresh token and keeps it in a private env file (shown only
with ``--show``), with the first access token in the token cache. ``check`` refreshes once, then says which data
centre and API domain the org is on, which scopes Zoho granted, and whether each command has the scopes it needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from .. import DATA_CENTRES, AccessToken, AuthenticationError, Grant, TransportError, exchange_grant_code
from ._connect import ENV, Connection, RunFailure, UsageError, add_connection_arguments, own_words, reach
from ._output import Output
from ._scopes import COMMAND_SCOPES, OPTIONAL, RECOMMENDED_SCOPES, missing_scopes, parse_scopes

__all__ = ["add_auth_commands", "auth_command", "default_env_file"]


def add_auth_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    auth = commands.add_parser("auth", help="connect an org: a grant code to a refresh token; check a setup")
    actions = auth.add_subparsers(dest="auth_command", required=True, metavar="ACTION")
    exchange = actions.add_parser(
        "exchange", parents=[_connection(parser_class, refresh_token=False)],
        help="turn a Self Client grant code into a refresh token, kept in a private env file",
        description="Turn a grant code (API console > Self Client > Generate Code, with the scopes "
        f"{RECOMMENDED_SCOPES}) into a refresh token. Needs the client id and secret and the data centre.",
    )  # fmt: skip
    exchange.add_argument("--code", required=True, help="the grant code (used once; it lasts a few minutes)")
    exchange.add_argument("--redirect-uri", help="only for a server-based client: its registered redirect URI")
    exchange.add_argument(
        "--save", type=Path, metavar="FILE",
        help=f"the env file (mode 0600) to write the credentials to (default: {default_env_file()})",
    )  # fmt: skip
    exchange.add_argument("--force", action="store_true", help="replace the env file if it exists")
    exchange.add_argument(
        "--show", action="store_true", help="print the refresh token on stdout instead of saving it (no file)"
    )
    actions.add_parser(
        "check", parents=[_connection(parser_class, refresh_token=True)],
        help="refresh once; show the data centre, API domain, scopes granted and what each command needs",
    )  # fmt: skip


def _connection(parser_class: type[argparse.ArgumentParser], *, refresh_token: bool) -> argparse.ArgumentParser:
    parent = parser_class(add_help=False)
    add_connection_arguments(parent, refresh_token=refresh_token, budget=False)
    return parent


def default_env_file() -> Path:
    from platformdirs import user_config_path

    return user_config_path("zcrm-async", appauthor=False) / "zoho.env"


async def auth_command(args: argparse.Namespace, connection: Connection, output: Output) -> int:
    if args.auth_command == "exchange":
        return await exchange(args, connection, output)
    return await check(connection, output)


# -- exchange ----------------------------------------------------------------------------------------------


async def exchange(args: argparse.Namespace, connection: Connection, output: Output) -> int:
    if not (connection.client_id and connection.client_secret):
        raise UsageError(
            f"auth exchange needs --client-id and --client-secret (or {ENV['client_id']} and "
            f"{ENV['client_secret']}): the API console shows them under Self Client > Client Secret"
        )
    target = None if args.show else (args.save or default_env_file())
    if target is not None:
        _check_writable(target, force=args.force)  # before the code is spent: it works only once
    output.add_secrets(args.code)
    await reach(connection.accounts, "the accounts server")  # one tidy line for a dead server, as backfill says
    try:
        grant = await exchange_grant_code(
            args.code, client_id=connection.client_id, client_secret=connection.client_secret,
            accounts_url=connection.accounts, redirect_uri=args.redirect_uri,
        )  # fmt: skip
    except TransportError as exc:
        raise RunFailure(f"cannot reach the accounts server {connection.accounts}: {exc}") from None
    except AuthenticationError as exc:
        raise RunFailure(
            f"Zoho's accounts server {connection.accounts} refused the grant code: {exc.message}",
            keep=own_words(exc),
        ) from None
    output.add_secrets(grant.refresh_token, grant.access_token.value)
    cached = await _cache(connection, grant)
    facts = f"API domain {grant.api_domain or '(not given)'}; scopes {grant.scope or '(not stated by Zoho)'}"
    if target is None:
        output.console.file.write(grant.refresh_token + "\n")  # asked for: the only line on stdout
        output.error(f"refresh token printed above; {facts}. Keep it private: it opens the org until revoked.")
    else:
        _write_env(target, connection, grant)
        output.result(f"refresh token saved to {target} (mode 0600) with the client id, secret and servers; {facts}")
        output.result(f"use it in a shell with:  set -a; . {target}; set +a   then:  zcrm-async auth check")
    if cached is not None:
        output.error(f"first access token cached in {cached}")  # a diagnostic: stdout holds only the answer
    return 0


def _check_writable(path: Path, *, force: bool) -> None:
    if path.is_dir():
        raise UsageError(f"cannot write --save {path}: it is a folder")
    if path.exists() and not force:
        raise UsageError(f"{path} exists; pass --save ANOTHER_FILE, or --force to replace it")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write --save {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"cannot write --save {path}: {folder} is not writable")


def _write_env(path: Path, connection: Connection, grant: Grant) -> None:
    """KEY=value lines a shell can source; written private (0600) and whole, in folders only the user can open."""
    lines = [
        "# zcrm-async credentials for one Zoho org (written by `zcrm-async auth exchange`). Keep this file private:",
        "# the refresh token works until it is revoked (API console > Self Client, or Zoho Accounts > Sessions).",
        f"{ENV['client_id']}={connection.client_id}",
        f"{ENV['client_secret']}={connection.client_secret}",
        f"{ENV['refresh_token']}={grant.refresh_token}",
        f"{ENV['data_centre']}={connection.data_centre}",
    ]
    if connection.accounts_url:
        lines.append(f"{ENV['accounts_url']}={connection.accounts_url}")
    if connection.api_domain:
        lines.append(f"{ENV['api_domain']}={connection.api_domain}")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _cache(connection: Connection, grant: Grant) -> Path | None:
    if connection.token_cache is None or not connection.client_id:
        return None
    store = dataclasses.replace(connection, refresh_token=grant.refresh_token).token_store()
    await store.save(grant.access_token)
    return store.path


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
        short += bool(missing) and not command.endswith(OPTIONAL)
        verdict = "ok" if not missing else f"MISSING {', '.join(missing)}"
        output.result(f"  {command}: {verdict} (needs {', '.join(needs)})")
    if short:
        output.result(f"generate a new grant code with: {RECOMMENDED_SCOPES}")
    return 0 if not short else 1
