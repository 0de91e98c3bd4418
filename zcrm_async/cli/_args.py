"""The flags of every command that talks to Zoho: connection, budget, token cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import EDITIONS
from ._settings import DEFAULT_REDIS_TIMEOUT, DEFAULT_TOKEN_WAIT, ENV, default_token_cache

__all__ = ["add_connection_arguments", "add_token_arguments"]


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
