"""zcrm_async: an async, high-throughput client for the Zoho CRM REST API (emails and deals)."""

from importlib.metadata import PackageNotFoundError, version

from ._auth import AccessToken, FileTokenStore, MemoryTokenStore, OAuthCredentials, TokenStore
from ._client import ZohoCRM, raise_for_status
from ._config import DATA_CENTRES, Budget, DataCentre, Timeouts
from ._errors import (
    APIError,
    AuthenticationError,
    BulkError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    ResponseDecodeError,
    ServerError,
    TransportError,
    ZohoError,
)
from ._events import Counters, Event, EventBus
from ._limits import Limiter, LocalLimiter, Permit
from ._retry import RetryPolicy
from ._transport import AiohttpTransport, Request, Response, Transport

try:
    __version__ = version("zcrm_async")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
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
