"""The names and defaults of what the CLI reads: its environment variables, folders and timeouts."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CACHE_OFF", "DEFAULT_REDIS_TIMEOUT", "DEFAULT_TOKEN_WAIT", "ENV", "default_env_file", "default_token_cache"]

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
#: How long connecting to Redis, or one Redis command, may take before Redis counts as failed (--redis-timeout):
#: a healthy Redis answers in milliseconds, and without a bound a paused one would hold the run forever.
DEFAULT_REDIS_TIMEOUT = 10.0


def default_token_cache() -> Path:
    """``$XDG_CACHE_HOME/zcrm-async/tokens`` (``~/.cache/...`` by default)."""
    from platformdirs import user_cache_path

    return user_cache_path("zcrm-async", appauthor=False) / "tokens"


def default_env_file() -> Path:
    """Where ``auth exchange`` keeps the credentials: ``$XDG_CONFIG_HOME/zcrm-async/zoho.env``."""
    from platformdirs import user_config_path

    return user_config_path("zcrm-async", appauthor=False) / "zoho.env"
