"""The public names: exported on purpose, sorted, and pinned (STYLE.md habit 1)."""

from __future__ import annotations

import zcrm_async

EXPECTED = [
    "DATA_CENTRES",
    "APIError",
    "AccessToken",
    "AiohttpTransport",
    "AuthenticationError",
    "Budget",
    "BulkError",
    "Counters",
    "DataCentre",
    "Event",
    "EventBus",
    "FileTokenStore",
    "InvalidRequestError",
    "Limiter",
    "LocalLimiter",
    "MemoryTokenStore",
    "NotFoundError",
    "OAuthCredentials",
    "PermissionDeniedError",
    "Permit",
    "RateLimitError",
    "Request",
    "RequestTimeout",
    "Response",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServerError",
    "Timeouts",
    "TokenStore",
    "Transport",
    "TransportError",
    "ZohoCRM",
    "ZohoError",
    "__version__",
    "raise_for_status",
]


def test_all_is_pinned() -> None:
    assert zcrm_async.__all__ == EXPECTED


def test_all_is_sorted() -> None:
    # ruff's RUF022 order: SCREAMING_CASE first, then CamelCase, then the rest, each alphabetically.
    def key(name: str) -> tuple[int, str]:
        if name.isupper() and len(name) > 1:
            return (0, name)
        if name[:1].isupper():
            return (1, name)
        return (2, name)

    assert zcrm_async.__all__ == sorted(zcrm_async.__all__, key=key)


def test_every_name_exists() -> None:
    for name in zcrm_async.__all__:
        assert hasattr(zcrm_async, name), name


def test_no_public_name_is_left_unexported() -> None:
    public = {name for name in vars(zcrm_async) if not name.startswith("_")}
    modules = {"emails", "models", "records", "testing", "cli", "redis"}
    assert public - modules - {"PackageNotFoundError", "version"} <= set(zcrm_async.__all__)


def test_version_is_a_string() -> None:
    assert isinstance(zcrm_async.__version__, str) and zcrm_async.__version__
