"""A connection to Zoho as the CLI builds it: the credentials, the budget, Redis, and the checks before any work.

``_env`` reads one from the flags, the environment and the env file; ``_args`` declares those flags. Access tokens
are cached between runs (``FileTokenStore.for_client`` under the user's cache folder), so a run while the cached
token is valid asks the token endpoint nothing; ``Connection.open`` checks the credentials (at most one refresh)
and that the API server can be reached before a command does any work.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from .. import (
    DATA_CENTRES,
    AuthenticationError,
    Budget,
    DataCentre,
    FileTokenStore,
    RedisUnavailable,
    TransportError,
    ZohoCRM,
)
from ._failures import RedisFailure, RunFailure, UsageError
from ._preflight import reach
from ._secrets import own_words, password_in
from ._settings import DEFAULT_REDIS_TIMEOUT, DEFAULT_TOKEN_WAIT, ENV, default_env_file

__all__ = ["Connection"]


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
            self.client_secret, self.refresh_token, self.redis_url, password_in(self.redis_url),
            password_in(self.accounts_url), password_in(self.api_domain),
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


def _same_server(one: str, other: str) -> bool:
    first, second = urllib.parse.urlsplit(one), urllib.parse.urlsplit(other)
    return (first.scheme, first.hostname, first.port) == (second.scheme, second.hostname, second.port)


def _import_redis() -> Any:
    """``zcrm_async.redis``, imported only when asked for: it needs the optional ``redis`` package."""
    try:
        return importlib.import_module("zcrm_async.redis")
    except ImportError as exc:
        raise UsageError(f"--redis-url needs the redis package (pip install 'zcrm_async[redis]'): {exc.msg}") from None
