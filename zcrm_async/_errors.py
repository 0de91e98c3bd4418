"""The exception tree. Every failure the library raises is a ``ZohoError``::

    ZohoError(Exception)
    ├── TransportError            the connection failed (wraps aiohttp.ClientError / OSError)
    │   ├── RequestTimeout
    │   ├── ResponseTooLarge      a body past the transport's cap (decompressed): read no further, not retried
    │   └── RedisUnavailable      the shared budget or token store (Redis) did not answer: the request was not sent
    ├── APIError                  Zoho answered an error: .status .code .message .details
    │   ├── AuthenticationError   401 INVALID_TOKEN, AUTHENTICATION_FAILURE, OAUTH_SCOPE_MISMATCH; token endpoint
    │   │   └── MissingScopeError the token lacks a scope the client needs (.scope), and how to do without it
    │   ├── PermissionDeniedError 403 NO_PERMISSION
    │   ├── InvalidRequestError   400 INVALID_DATA, MANDATORY_NOT_FOUND, LIMIT_EXCEEDED, ...
    │   ├── NotFoundError         404 INVALID_URL_PATTERN
    │   ├── RateLimitError        429 TOO_MANY_REQUESTS (.retry_after)
    │   └── ServerError           5xx INTERNAL_ERROR
    ├── ResponseDecodeError       a body that is not the JSON Zoho documents (truncated, HTML, ...)
    │   ├── PaginationError       a cursor chain that repeats or never ends
    │   └── BulkFileError         a Bulk job's result file that is no safe ZIP of one CSV (broken, huge, hostile)
    ├── BulkJobFailed             a Bulk Read or Bulk Write job ended FAILURE / FAILED (.job_id .state)
    └── BulkError                 raised only by BulkResult.raise_for_failures(); .failed

``error_from_response`` is the one place that maps (HTTP status, Zoho code) to a class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from .outcomes import INTERNAL_ERROR, TOO_MANY_REQUESTS

if TYPE_CHECKING:
    from ._bulk import ItemResult

__all__ = [
    "APIError",
    "AuthenticationError",
    "BulkError",
    "BulkFileError",
    "BulkJobFailed",
    "InvalidRequestError",
    "MissingScopeError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedisUnavailable",
    "RequestTimeout",
    "ResponseDecodeError",
    "ResponseTooLarge",
    "ServerError",
    "TransportError",
    "ZohoError",
    "error_from_response",
]


class ZohoError(Exception):
    """Base of every exception this library raises on purpose."""


class TransportError(ZohoError):
    """The request did not get a response: connection refused, reset, dropped or timed out."""


class RequestTimeout(TransportError):
    """The transport's per-request timeout ran out."""


class ResponseTooLarge(TransportError):
    """The response's body (decompressed) was larger than the transport's ``max_response_bytes``.

    Nothing of it is kept and the request is not tried again (the same answer would come back). A write it
    answered may have been applied: read it back before sending it again.
    """


class RedisUnavailable(TransportError):
    """Redis, where a shared budget (``RedisLimiter``) or token (``RedisTokenStore``) lives, failed or could not
    be reached. The request was not sent, and is not retried by the client: a bulk call reports it on each item
    (as ``TRANSPORT_ERROR``), so a backfill's rerun sends them once Redis is back."""


class ResponseDecodeError(ZohoError):
    """Zoho's body was not the JSON its documentation promises (truncated, HTML, empty)."""

    def __init__(self, message: str, *, status: int, body_prefix: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        #: The first bytes of the body, for diagnosis. Responses never carry tokens, requests do.
        self.body_prefix = body_prefix[:200]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, body_prefix={self.body_prefix!r})"


class PaginationError(ResponseDecodeError):
    """The pages never end: a cursor came back that was followed before, or more pages came than an answer can
    hold. What was read so far is incomplete."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=200)


class BulkFileError(ResponseDecodeError):
    """A Bulk job's file could not be used: not a ZIP, broken, past the size allowed, a member name that is not a
    plain file name, a CSV that does not parse, or the local disk refused it. Nothing of it is trusted."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=200)


class BulkJobFailed(ZohoError):
    """A Bulk Read or Bulk Write job ended in failure on Zoho's side.

    Attributes:
        job_id: the job's id.
        state: the state Zoho reported (``FAILURE``, ``FAILED``, ...).
        reason: Zoho's message, when it gave one.
    """

    def __init__(self, job_id: str, state: str, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"bulk job {job_id} ended {state}{detail}")
        self.job_id = job_id
        self.state = state
        self.reason = reason


class APIError(ZohoError):
    """Zoho answered with an error.

    Attributes:
        status: the HTTP status.
        code: Zoho's error code, e.g. ``"INVALID_DATA"`` (or the OAuth ``error`` of the token endpoint).
        message: Zoho's message.
        details: Zoho's ``details`` object (``{}`` when absent).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"[{code}] {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: Mapping[str, Any] = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(APIError):
    """The access token was refused, or the token endpoint refused the credentials."""


class MissingScopeError(AuthenticationError):
    """The token was not granted a scope the client needs (401 OAUTH_SCOPE_MISMATCH); the message says the way out."""

    def __init__(self, message: str, *, scope: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: The scope to grant.
        self.scope = scope


class PermissionDeniedError(APIError):
    """The user's profile lacks a permission (403 NO_PERMISSION)."""


class InvalidRequestError(APIError):
    """Zoho refused the request as malformed or not allowed (400)."""


class NotFoundError(APIError):
    """The URL does not exist (404 INVALID_URL_PATTERN)."""


class RateLimitError(APIError):
    """429 TOO_MANY_REQUESTS: credits or concurrency exhausted (Zoho does not say which)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: Seconds from a Retry-After header, when the server sent one (Zoho documents none).
        self.retry_after = retry_after


class ServerError(APIError):
    """Zoho failed (5xx)."""


class BulkError(ZohoError):
    """Some items of a bulk operation failed; raised only by ``BulkResult.raise_for_failures()``."""

    def __init__(self, failed: Sequence[ItemResult[Any]], total: int) -> None:
        codes: dict[str, int] = {}
        for item in failed:
            codes[item.code] = codes.get(item.code, 0) + 1
        summary = ", ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
        super().__init__(f"{len(failed)} of {total} items failed ({summary})")
        self.failed = failed


_BY_CODE: Mapping[str, type[APIError]] = {
    "INVALID_TOKEN": AuthenticationError,
    "INVALID_OAUTHTOKEN": AuthenticationError,
    "AUTHENTICATION_FAILURE": AuthenticationError,
    "OAUTH_SCOPE_MISMATCH": AuthenticationError,
    "UNAUTHORIZED": AuthenticationError,
    "NO_PERMISSION": PermissionDeniedError,
    "INVALID_URL_PATTERN": NotFoundError,
    TOO_MANY_REQUESTS: RateLimitError,
    INTERNAL_ERROR: ServerError,
}


def _class_for(status: int, code: str) -> type[APIError]:
    match status:
        case 401:
            return AuthenticationError
        case 403:
            return PermissionDeniedError
        case 404:
            return NotFoundError
        case 429:
            return RateLimitError
        case _ if status >= 500:
            return ServerError
    if code in _BY_CODE:
        return _BY_CODE[code]
    return InvalidRequestError


class _ErrorBody(msgspec.Struct):
    # Every field optional and nullable: a null ``details`` must not cost the error its code.
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None
    status: str | None = None


_decode_error_body = msgspec.json.Decoder(_ErrorBody).decode


def error_in_answer(status: int, body: bytes) -> APIError | None:
    """The ``APIError`` a successful answer carries as its body (``{"code", "message", "status": "error"}``), if
    it carries one: record.json declares Get Records' errors inside its 200 (``oneOf`` the page and
    ``API_Exception``), where the other module endpoints answer them with 400."""
    try:
        parsed = _decode_error_body(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if parsed.status != "error" or not parsed.code:
        return None
    return _class_for(400, parsed.code)(parsed.message or parsed.code, status=status, code=parsed.code,
                                        details=parsed.details)  # fmt: skip


def error_from_response(
    status: int,
    body: bytes,
    *,
    retry_after: float | None = None,
) -> APIError:
    """The exception for an error response, keeping Zoho's code, message and details.

    A body that is not a Zoho error object (HTML from a proxy, truncated JSON) still gives an ``APIError`` of the
    class the status implies, with code ``HTTP_<status>``.
    """
    try:
        parsed = _decode_error_body(body) if body else _ErrorBody(code=f"HTTP_{status}")
    except (msgspec.DecodeError, msgspec.ValidationError):
        parsed = _ErrorBody(code=f"HTTP_{status}", message=body[:200].decode("utf-8", "replace"))
    # A JSON object without a code ({} from a proxy, a per-item array) is not a Zoho error object either.
    code = parsed.code or f"HTTP_{status}"
    cls = _class_for(status, code)
    message = parsed.message or f"HTTP {status}"
    if cls is RateLimitError:
        return RateLimitError(message, status=status, code=code, details=parsed.details, retry_after=retry_after)
    return cls(message, status=status, code=code, details=parsed.details)
