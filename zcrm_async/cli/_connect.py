"""Where the CLI gets its credentials and budget: flags first, then the environment. The only env reader."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from .._client import ZohoCRM
from .._config import EDITIONS, Budget

__all__ = ["Connection", "UsageError", "add_connection_arguments", "connection_from", "secrets_in"]

ENV = {
    "client_id": "ZOHO_CLIENT_ID",
    "client_secret": "ZOHO_CLIENT_SECRET",
    "refresh_token": "ZOHO_REFRESH_TOKEN",
    "data_centre": "ZOHO_DC",
    "api_domain": "ZOHO_API_DOMAIN",
    "accounts_url": "ZOHO_ACCOUNTS_URL",
}


class UsageError(ValueError):
    """The command line or environment is wrong: exit code 2, with a sentence a person can act on."""


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

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.client_secret, self.refresh_token, self.redis_url)

    def budget(self) -> Budget:
        return Budget.for_edition(self.edition, users=self.users)

    def check(self) -> None:
        """Raise ``UsageError`` naming the missing credentials (their names, never values)."""
        missing = [ENV[name] for name in ("client_id", "client_secret", "refresh_token") if not getattr(self, name)]
        if missing:
            flags = ", ".join(f"--{name.lower().removeprefix('zoho_').replace('_', '-')} or {name}" for name in missing)
            raise UsageError(f"missing credentials: pass {flags}")

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
                    redis_module.RedisLimiter.from_url(self.redis_url, budget, org=self.org, client_id=self.client_id)
                )
                store = redis_module.RedisTokenStore(limiter.redis, org=self.org, client_id=self.client_id)
                extra = {"limiter": limiter, "token_store": store}
            crm = ZohoCRM(
                client_id=self.client_id,
                client_secret=self.client_secret,
                refresh_token=self.refresh_token,
                data_centre=self.data_centre,
                api_domain=self.api_domain,
                accounts_url=self.accounts_url,
                budget=budget,
                **extra,
            )
            async with crm:
                yield crm


def _import_redis() -> Any:
    """``zcrm_async.redis``, imported only when asked for: it needs the optional ``redis`` package."""
    try:
        return importlib.import_module("zcrm_async.redis")
    except ImportError as exc:
        raise UsageError(
            f"--redis-url needs the redis package (pip install 'zcrm_async[redis]'): {exc.msg}"
        ) from None


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes."""
    group = parser.add_argument_group("connection (flags win over the environment)")
    group.add_argument("--client-id", help="OAuth client id (env ZOHO_CLIENT_ID)")
    group.add_argument("--client-secret", help="OAuth client secret (env ZOHO_CLIENT_SECRET)")
    group.add_argument("--refresh-token", help="OAuth refresh token (env ZOHO_REFRESH_TOKEN)")
    group.add_argument("--dc", dest="data_centre", help="data centre: us, eu, in, au, jp, cn, ca, sa (env ZOHO_DC)")
    group.add_argument("--api-domain", help="API server, e.g. http://127.0.0.1:8080 (env ZOHO_API_DOMAIN)")
    group.add_argument("--accounts-url", help="OAuth server (env ZOHO_ACCOUNTS_URL)")
    group.add_argument(
        "--edition", default="enterprise", choices=sorted(EDITIONS), help="the org's edition (default: %(default)s)"
    )
    group.add_argument("--users", type=int, default=1, help="user licences, for the daily credits (default: 1)")
    group.add_argument("--redis-url", help="share the budget and token with other processes through Redis")
    group.add_argument(
        "--org", default="default", help="the org's name in Redis keys, shared by its processes (default: %(default)s)"
    )
    group.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary and errors")


def connection_from(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Connection:
    env = os.environ if environ is None else environ

    def pick(name: str) -> str | None:
        value = getattr(args, name, None)
        return str(value) if value else env.get(ENV[name]) or None

    if args.users < 1:
        raise UsageError("--users must be at least 1")
    return Connection(
        client_id=pick("client_id"),
        client_secret=pick("client_secret"),
        refresh_token=pick("refresh_token"),
        data_centre=pick("data_centre") or "us",
        api_domain=pick("api_domain"),
        accounts_url=pick("accounts_url"),
        edition=args.edition,
        users=args.users,
        redis_url=args.redis_url,
        org=args.org,
    )


_SECRET_FLAGS = ("--client-secret", "--refresh-token", "--redis-url")


def secrets_in(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets a failed command line may hold: values of the secret flags, and the secret variables.

    Used before arguments could be parsed, so an argparse message never echoes one.
    """
    env = os.environ if environ is None else environ
    found = [env.get(ENV[name], "") for name in ("client_secret", "refresh_token")]
    for index, arg in enumerate(argv):
        flag, _, value = arg.partition("=")
        # Any prefix of a secret flag too ("--client-s"): argparse echoes an unknown option with its value.
        if len(flag) > 2 and any(secret.startswith(flag) for secret in _SECRET_FLAGS):
            found.append(value if value else (argv[index + 1] if index + 1 < len(argv) else ""))
    return [value for value in found if value]
