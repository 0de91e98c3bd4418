"""zcrm_async: an async, high-throughput client for the Zoho CRM REST API (emails and deals).

Everything a user constructs or receives is importable from here. The transport and limiter interfaces, for
those who plug in their own, live in ``zcrm_async.plumbing`` (they stay importable from here too).
"""

from ._auth import AccessToken, MemoryTokenStore, OAuthCredentials, TokenStore
from ._bulk import BulkResult, ItemResult
from ._client import ZohoCRM, raise_for_status
from ._config import DATA_CENTRES, EDITIONS, Budget, DataCentre, Timeouts
from ._env_file import env_file_problem, read_env_file, write_env_file
from ._errors import (
    APIError,
    AuthenticationError,
    BulkError,
    BulkFileError,
    BulkJobFailed,
    InvalidRequestError,
    MissingScopeError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RedisUnavailable,
    RequestTimeout,
    ResponseDecodeError,
    ResponseTooLarge,
    ServerError,
    TransportError,
    ZohoError,
)
from ._events import Counters, Event, EventBus
from ._fanout import Stream
from ._file_store import FileTokenStore
from ._grant import Grant, exchange_grant_code
from ._retry import RetryPolicy
from ._streaming import BulkStream
from .emails import DealLink, DealUnlink, Emails, PlannedRequest
from .models import (
    Address,
    AssociateEmail,
    Attachment,
    Email,
    EmailsPage,
    EmailSummary,
    LinkedRecord,
    ModuleRef,
    Owner,
    PageInfo,
    RecordsInfo,
    RecordsPage,
    StatusEntry,
)

# Old imports of the plumbing keep working; its home is zcrm_async.plumbing, so it is not in __all__.
from .plumbing import AiohttpTransport, Limiter, LocalLimiter, Permit, Request, Response, Transport  # noqa: F401
from .records import Records
from .validation import InvalidItemError, ItemProblem


def __getattr__(name: str) -> str:
    # __version__ is read from the installed metadata when asked for: importing importlib.metadata costs every
    # process that imports the package (a CLI run among them) tens of milliseconds.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("zcrm_async")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DATA_CENTRES",
    "EDITIONS",
    "APIError",
    "AccessToken",
    "Address",
    "AssociateEmail",
    "Attachment",
    "AuthenticationError",
    "Budget",
    "BulkError",
    "BulkFileError",
    "BulkJobFailed",
    "BulkResult",
    "BulkStream",
    "Counters",
    "DataCentre",
    "DealLink",
    "DealUnlink",
    "Email",
    "EmailSummary",
    "Emails",
    "EmailsPage",
    "Event",
    "EventBus",
    "FileTokenStore",
    "Grant",
    "InvalidItemError",
    "InvalidRequestError",
    "ItemProblem",
    "ItemResult",
    "LinkedRecord",
    "MemoryTokenStore",
    "MissingScopeError",
    "ModuleRef",
    "NotFoundError",
    "OAuthCredentials",
    "Owner",
    "PageInfo",
    "PaginationError",
    "PermissionDeniedError",
    "PlannedRequest",
    "RateLimitError",
    "Records",
    "RecordsInfo",
    "RecordsPage",
    "RedisUnavailable",
    "RequestTimeout",
    "ResponseDecodeError",
    "ResponseTooLarge",
    "RetryPolicy",
    "ServerError",
    "StatusEntry",
    "Stream",
    "Timeouts",
    "TokenStore",
    "TransportError",
    "ZohoCRM",
    "ZohoError",
    "__version__",
    "env_file_problem",
    "exchange_grant_code",
    "raise_for_status",
    "read_env_file",
    "write_env_file",
]
